/*
 * textparse: the Prometheus text exposition parser (format 0.0.4 and
 * OpenMetrics 1.0), shared by the HTTP scrape collector and the bulk import
 * API (/api/v1/import/prometheus).
 *
 * Contract
 * - A struct textparse is one parser with its limits, its callbacks and a
 *   scratch buffer reused from line to line; create one per caller (per
 *   scrape target, per import request worker).  Not thread-safe: one
 *   object is used by one thread at a time.  Callbacks run synchronously
 *   inside textparse_feed/textparse_finish on the caller's thread.
 * - A body is parsed by textparse_begin, any number of textparse_feed calls
 *   (chunks may split lines anywhere) and textparse_finish; textparse_parse
 *   does the three on a whole buffer.  Only a line split across two feeds is
 *   copied (bounded by max_line); nothing is allocated per sample.
 * - Every string handed to a callback (metric name, label names and values,
 *   HELP text, UNIT) is NUL-terminated, unescaped, and valid only until the
 *   callback returns.  Labels come in input order, not sorted, not interned,
 *   and never include __name__.  A label with an empty value is passed on
 *   (dropping it is the store's rule, see sample.h).
 * - A callback returns 0 to go on, non-zero to stop the parse: the parse
 *   then returns TEXTPARSE_EABORT.  Any callback may be NULL.
 * - Errors: the functions return 0 or a negative TEXTPARSE_E* code and fill
 *   err (when errlen > 0) with "line N: reason", N counted from 1.  After a
 *   fatal error the parser stays failed until the next textparse_begin.
 *   In skip_bad mode, a line with a syntax or per-line limit error is
 *   counted, the first message kept (textparse_first_skipped), and the
 *   parse goes on; limits on the whole body (sample_limit) and callback
 *   aborts still stop it.  Prometheus rejects a whole scrape on any error:
 *   scrapes should leave skip_bad off.
 *
 * Accepted input (both formats, stricter only where noted)
 * - Lines end in LF or CRLF; the last line may lack one.  Blank lines and
 *   comments other than the metadata below are ignored.  Tokens are
 *   separated by runs of spaces or tabs.  NUL bytes are an error.
 * - `# HELP name text`: text unescapes \\ and \n (and \" in OpenMetrics).
 *   `# TYPE name type`: counter, gauge, histogram, summary, untyped
 *   (0.0.4); counter, gauge, histogram, gaugehistogram, summary, stateset,
 *   info, unknown (OpenMetrics).  OpenMetrics only: `# UNIT name unit`, and
 *   `# EOF`, which must end the body ("missing # EOF" otherwise, and
 *   nothing may follow it).
 * - Samples: `name[{l="v",...}] value [timestamp]`.  Metric names match
 *   [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and are
 *   neither "__name__" nor repeated; label values are valid UTF-8 and
 *   unescape \\, \" and \n (another escape is kept as written, as
 *   Prometheus does).  A trailing comma in braces is accepted.
 * - Values are what Go's strconv.ParseFloat accepts without hex floats or
 *   underscores (Prometheus's rule): decimal and exponent forms, Inf,
 *   Infinity, NaN in any case, signed infinities; values that overflow a
 *   double are an error.
 * - Timestamps: 0.0.4 has integer milliseconds; OpenMetrics has float
 *   seconds, converted exactly to milliseconds (truncated towards zero).
 * - OpenMetrics exemplars (`value [ts] # {labels} value [ts]`) are checked
 *   for syntax and ignored.
 */
#ifndef MONITORD_TEXTPARSE_H
#define MONITORD_TEXTPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "sample.h"

enum textparse_format {
	TEXTPARSE_PROM,		/* text format 0.0.4 */
	TEXTPARSE_OPENMETRICS,	/* OpenMetrics 1.0.0 */
};

enum textparse_type {
	TEXTPARSE_COUNTER,
	TEXTPARSE_GAUGE,
	TEXTPARSE_HISTOGRAM,
	TEXTPARSE_SUMMARY,
	TEXTPARSE_UNTYPED,
	TEXTPARSE_GAUGEHISTOGRAM,
	TEXTPARSE_STATESET,
	TEXTPARSE_INFO,
	TEXTPARSE_UNKNOWN,
};

/* Return codes (0 is success). */
#define TEXTPARSE_EINVAL	-1	/* bad input or a per-line limit */
#define TEXTPARSE_ELIMIT	-2	/* sample_limit exceeded */
#define TEXTPARSE_EABORT	-3	/* a callback returned non-zero */

/* Zero in a limit means no limit. */
struct textparse_opts {
	size_t	max_line;	/* bytes in a line, without CR LF */
	size_t	max_labels;	/* labels in braces per sample */
	size_t	max_name_len;	/* bytes in a label name */
	size_t	max_value_len;	/* bytes in an (unescaped) label value
				   and in a metric name */
	size_t	sample_limit;	/* samples per body */
	int	skip_bad;	/* count bad lines and go on */
};

struct textparse_cb {
	int	(*sample)(void *arg, const char *name, const struct label *lbls,
		    size_t n, double v, int has_ts, int64_t ts_ms);
	int	(*help)(void *arg, const char *name, const char *text);
	int	(*type)(void *arg, const char *name, enum textparse_type);
	int	(*unit)(void *arg, const char *name, const char *unit);
	/*
	 * Optional (both or neither), for a caller that meets each series
	 * many times, as an import body does (one line per series and
	 * timestamp).  Before parsing a sample's labels the parser asks
	 * series_ref for the caller's handle of the series text RAW (the
	 * bytes from the metric name to its closing brace, or to the end of
	 * a bare name, exactly as written); with one, the labels are not
	 * parsed again and sample_ref gets the handle instead of sample
	 * getting the labels.  The caller records RAW inside sample
	 * (textparse_raw) and must only ever answer for bytes equal to a
	 * series text that sample accepted from a parser with the same
	 * options: those parse the same way, so sample_ref's series passed
	 * every check sample's did.  A handle is used before the next
	 * callback.
	 */
	void	*(*series_ref)(void *arg, const char *raw, size_t len);
	int	(*sample_ref)(void *arg, void *ref, double v, int has_ts,
		    int64_t ts_ms);
};

struct textparse_stats {
	uint64_t	lines;		/* lines seen so far */
	uint64_t	samples;	/* samples handed to the callback */
	uint64_t	skipped;	/* bad lines skipped (skip_bad mode) */
};

struct textparse;

/* Defaults: max_line 1 MiB, no other limit, stop at the first error. */
void		 textparse_opts_default(struct textparse_opts *);

/* OPTS may be NULL (defaults); CB is copied; ARG is passed to callbacks. */
struct textparse *textparse_new(const struct textparse_opts *,
		    const struct textparse_cb *, void *arg);
void		 textparse_free(struct textparse *);

/* Start a new body in FORMAT; resets line numbers, counters and errors. */
void		 textparse_begin(struct textparse *, enum textparse_format);
int		 textparse_feed(struct textparse *, const char *, size_t,
		    char *err, size_t errlen);
/* End of body: parses a last line without newline, checks # EOF. */
int		 textparse_finish(struct textparse *, char *err, size_t errlen);
/* begin + feed + finish on a whole body. */
int		 textparse_parse(struct textparse *, enum textparse_format,
		    const char *, size_t, char *err, size_t errlen);

const struct textparse_stats *textparse_stats(const struct textparse *);
/* The message of the first skipped line of this body, or NULL. */
const char	*textparse_first_skipped(const struct textparse *);
/* The number of the line being parsed (for messages from callbacks). */
uint64_t	 textparse_lineno(const struct textparse *);
/* Inside the sample callback: the sample's series text as written (see
 * series_ref), valid until the callback returns. */
const char	*textparse_raw(const struct textparse *, size_t *len);

/*
 * The format of a response with this Content-Type (NULL allowed):
 * OpenMetrics for application/openmetrics-text, 0.0.4 for anything else.
 */
enum textparse_format textparse_format_for(const char *content_type);
const char	*textparse_type_name(enum textparse_type);

#endif
