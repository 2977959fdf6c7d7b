/*
 * conf: /etc/monitord.conf, a git-config-like INI file.
 *
 *	# comment                 (also after a value: "key = v  # note")
 *	[server]                  a section of kind "server"
 *	[proc "crm-api"]          a section of kind "proc" named "crm-api"
 *	key = value               value runs to end of line, trimmed;
 *	                          "double quotes" keep spaces and '#'
 *
 * What each section kind accepts is declared once, in a table of
 * struct conf_kind (see schema.h): the parser, the validation, `monitord -t`
 * and the monitord.conf(5) test all read that table.  Parsing does not stop
 * at the first error: every error in the file is collected as
 * "file:line: message" so one `monitord -t` run shows them all.  Unknown
 * sections, unknown keys, repeated keys (unless the key is CONF_MULTI), bad
 * values and missing required keys are errors.  A secret file (CONF_SECRET)
 * must exist, be readable, and not be readable by group or others.
 *
 * A loaded struct conf is immutable; every pointer it hands out lives as long
 * as the conf.  Reload builds a new conf and swaps it in only when it loaded
 * without error.
 */
#ifndef MONITORD_CONF_H
#define MONITORD_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum conf_type {
	CONF_STRING,	/* any text */
	CONF_INT,	/* decimal integer within [min, max] */
	CONF_FLOAT,	/* decimal number */
	CONF_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	CONF_DURATION,	/* units.h; stored as milliseconds, bounds in ms */
	CONF_SIZE,	/* units.h; stored as bytes */
	CONF_ENUM,	/* one of choices, "a|b|c" */
	CONF_REGEX,	/* PCRE2 pattern that must compile */
	CONF_URL,	/* http:// or https:// URL with a host */
	CONF_ADDR,	/* host:port or [v6]:port */
	CONF_PATH,	/* absolute path; existence not checked */
	CONF_SECRET,	/* path of a file holding a secret; checked as above */
	CONF_LABELS,	/* name=value, name=value with valid label names */
	CONF_EXPR,	/* a PromQL expression (checked by the query parser
			   once it exists; non-empty until then) */
};

#define CONF_REQUIRED	0x01	/* the key must be present */
#define CONF_MULTI	0x02	/* the key may repeat; values accumulate */

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	int		 flags;
	const char	*def;		/* default in config syntax, or NULL */
	const char	*choices;	/* CONF_ENUM: "red|golden|use" */
	int64_t		 min, max;	/* INT/DURATION/SIZE bounds if max > min */
	const char	*help;		/* one line, for docs and errors */
};

struct conf_section;
struct conf_errors;

struct conf_kind {
	const char		*kind;		/* "server", "proc", ... */
	int			 named;		/* 1: [k "name"] required; 0: [k] */
	int			 unique;	/* at most one section of it */
	const struct conf_key	*keys;		/* ends with a { NULL } entry */
	const struct conf_key	*common;	/* keys shared by a family of
						   kinds (every collector's
						   interval, timeout, labels);
						   NULL or { NULL }-ended */
	const char		*help;		/* what the section is for */
	/* Cross-key checks after each key passed; report with conf_error(). */
	void			(*check)(const struct conf_section *,
				    struct conf_errors *);
};

struct conf;

/*
 * Load PATH against KINDS (NULL-terminated).  Returns the conf, or NULL when
 * the file had errors, which are then in ERRS (never both).  TEXT, when not
 * NULL, is parsed instead of the file, with PATH used only in messages (the
 * embedded default config goes through here).
 */
struct conf	*conf_load(const char *path, const char *text,
		    const struct conf_kind *const *kinds, struct conf_errors *);
void		 conf_free(struct conf *);

/*
 * What conf_load cannot know by itself.  check runs once the whole file is
 * parsed, even when it had errors (so one run reports cross-section errors
 * too); it must only read the conf and report with conf_error*().  expr
 * validates every CONF_EXPR value (NULL: only non-empty is required).
 */
struct conf_hooks {
	void	(*check)(const struct conf *, struct conf_errors *);
	int	(*expr)(const char *expr, char *err, size_t errlen);
};
struct conf	*conf_load_with(const char *path, const char *text,
		    const struct conf_kind *const *kinds,
		    const struct conf_hooks *, struct conf_errors *);

/*
 * Limits: a file larger than CONF_MAX_FILE or a line longer than
 * CONF_MAX_LINE is an error; parsing stops after CONF_MAX_ERRORS errors (the
 * last message then says so) or at more than CONF_MAX_SECTIONS sections.
 * The KINDS table must outlive every conf loaded with it.  Errors of one load
 * are sorted by line; messages never contain a secret (URLs with
 * credentials are not echoed).
 */
#define CONF_MAX_FILE		(16 * 1024 * 1024)
#define CONF_MAX_LINE		(64 * 1024)
#define CONF_MAX_ERRORS		100
#define CONF_MAX_SECTIONS	100000

/* "string", "duration", ... as the man page names the types. */
const char	*conf_type_name(enum conf_type);
/*
 * The candidate closest to WORD when it is a plausible misspelling of it
 * (at most two edits), else NULL: for "did you mean" in messages.
 */
const char	*conf_suggest(const char *word, const char *const *candidates,
		    size_t n);
/*
 * User text for a message: in double quotes, with \" \\ and \xNN escapes
 * (a config line must not forge log lines), cut after CONF_QUOTE_MAX bytes
 * with "...".  OUT should hold CONF_QUOTE_LEN bytes; returns OUT.
 */
#define CONF_QUOTE_MAX	64
#define CONF_QUOTE_LEN	(CONF_QUOTE_MAX * 4 + 8)
const char	*conf_quote(char *out, size_t outlen, const char *s);
/* The declaration of NAME in KIND (keys, then common), or NULL. */
const struct conf_key *conf_kind_key(const struct conf_kind *,
		    const char *name);

struct conf_errors *conf_errors_new(void);
void		 conf_errors_free(struct conf_errors *);
size_t		 conf_errors_count(const struct conf_errors *);
/* "file:line: message", index < count. */
const char	*conf_errors_at(const struct conf_errors *, size_t);
void		 conf_errors_print(const struct conf_errors *, FILE *);
/* Report an error at the section's line, or at KEY's line when KEY is set. */
void		 conf_error(struct conf_errors *, const struct conf_section *,
		    const char *key, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
/* Report an error at LINE of the section's file (0: no line number). */
void		 conf_error_line(struct conf_errors *, const struct conf_section *,
		    int line, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

const char	*conf_path(const struct conf *);
/* Sections in file order; kind NULL means every section. */
size_t		 conf_count(const struct conf *, const char *kind);
const struct conf_section *conf_at(const struct conf *, const char *kind,
		    size_t index);
/*
 * The one section of a unique kind.  A unique unnamed kind ([server],
 * [storage]) that the file does not have exists as an empty section, so this
 * never returns NULL for those and the getters give their defaults.
 */
const struct conf_section *conf_get(const struct conf *, const char *kind);

const char	*conf_section_kind(const struct conf_section *);
const char	*conf_section_name(const struct conf_section *);	/* or NULL */
int		 conf_section_line(const struct conf_section *);
/* The section's kind as declared in the table. */
const struct conf_kind *conf_section_kind_decl(const struct conf_section *);
/* True when the key was written in the file (not only defaulted). */
int		 conf_has(const struct conf_section *, const char *key);

/*
 * Typed getters.  The key must be declared for the section's kind (asking
 * for an undeclared key aborts: a programming error), and the getter must
 * fit its type (conf_int: INT; conf_float: FLOAT or INT; conf_bool: BOOL;
 * conf_duration: DURATION; conf_size: SIZE; conf_enum: ENUM; conf_str: any
 * type, the text as written).  They return the value written (the first one
 * of a CONF_MULTI key), else the default, else 0, or "" for conf_str.
 */
const char	*conf_str(const struct conf_section *, const char *key);
int64_t		 conf_int(const struct conf_section *, const char *key);
double		 conf_float(const struct conf_section *, const char *key);
int		 conf_bool(const struct conf_section *, const char *key);
int64_t		 conf_duration(const struct conf_section *, const char *key);
uint64_t	 conf_size(const struct conf_section *, const char *key);
/* CONF_ENUM: the index of the value in choices ("a|b|c": b is 1). */
int		 conf_enum(const struct conf_section *, const char *key);
/*
 * CONF_MULTI: number of values and each one (NULL past the end).  Without a
 * value in the file, a default counts as one value.  conf_multi_line is the
 * line of value I (0 for a default), to report errors about one value.
 */
size_t		 conf_multi_count(const struct conf_section *, const char *key);
const char	*conf_multi_at(const struct conf_section *, const char *key,
		    size_t);
int		 conf_multi_line(const struct conf_section *, const char *key,
		    size_t);
/* CONF_LABELS: number of name=value pairs and each one (-1 past the end). */
size_t		 conf_labels_count(const struct conf_section *, const char *key);
int		 conf_label_at(const struct conf_section *, const char *key,
		    size_t, const char **name, const char **value);
/*
 * Read the secret file named by KEY: its contents with one trailing newline
 * removed, to be freed (and ideally zeroed) by the caller; NULL with a
 * message in ERR when it cannot be read.  Never logs the secret.
 */
char		*conf_read_secret(const struct conf_section *, const char *key,
		    char *err, size_t errlen);

#endif
