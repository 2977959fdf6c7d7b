/*
 * lexer: PromQL tokens, scanned the way Prometheus 2.42 scans them.
 *
 * The lexer is a small state machine over a byte string (not necessarily
 * NUL-terminated; NUL is an ordinary, unexpected character).  Its modes
 * follow Prometheus: inside { } every word is an identifier and only
 * matcher punctuation is allowed; right after [ a duration must follow;
 * inside [ ] a letter stands for the subquery colon (a Prometheus quirk,
 * kept so that the same queries are accepted).  Keywords are matched without
 * regard to case and keep their spelling in the token.  Comments (# to end
 * of line) and white space are skipped.
 *
 * The first malformed input yields a Q_T_ERROR token with a message in the
 * lexer and the position Prometheus reports; every later call yields
 * Q_T_EOF.  Tokens point into the input, which must outlive the lexer.
 * A lexer is used by one thread at a time and owns no memory.
 */
#ifndef MONITORD_QUERY_LEXER_H
#define MONITORD_QUERY_LEXER_H

#include <stddef.h>

enum q_tok {
	Q_T_EOF,
	Q_T_ERROR,
	Q_T_IDENTIFIER,		/* foo, also every word inside braces */
	Q_T_METRIC_IDENTIFIER,	/* a word with a colon: job:rate5m */
	Q_T_NUMBER,		/* 1, 1.5e3, 0x1f, Inf, NaN */
	Q_T_STRING,		/* "...", '...' or `...`, quotes included */
	Q_T_DURATION,		/* 5m, 1h30m, 100ms */
	Q_T_LEFT_PAREN,
	Q_T_RIGHT_PAREN,
	Q_T_LEFT_BRACE,
	Q_T_RIGHT_BRACE,
	Q_T_LEFT_BRACKET,
	Q_T_RIGHT_BRACKET,
	Q_T_COMMA,
	Q_T_EQL,		/* = */
	Q_T_COLON,

	/* Operators (Prometheus prints these as <op:...>). */
	Q_T_OPERATORS_START,
	Q_T_ADD,
	Q_T_SUB,
	Q_T_MUL,
	Q_T_DIV,
	Q_T_MOD,
	Q_T_POW,
	Q_T_EQLC,		/* == */
	Q_T_NEQ,		/* != */
	Q_T_GTR,
	Q_T_LSS,
	Q_T_GTE,
	Q_T_LTE,
	Q_T_EQL_REGEX,		/* =~ */
	Q_T_NEQ_REGEX,		/* !~ */
	Q_T_LAND,
	Q_T_LOR,
	Q_T_LUNLESS,
	Q_T_ATAN2,
	Q_T_AT,			/* @ */
	Q_T_OPERATORS_END,

	/* Aggregators (<aggr:...>). */
	Q_T_AGGREGATORS_START,
	Q_T_SUM,
	Q_T_AVG,
	Q_T_COUNT,
	Q_T_MIN,
	Q_T_MAX,
	Q_T_GROUP,
	Q_T_STDDEV,
	Q_T_STDVAR,
	Q_T_TOPK,
	Q_T_BOTTOMK,
	Q_T_COUNT_VALUES,
	Q_T_QUANTILE,
	Q_T_AGGREGATORS_END,

	/* Keywords (<...>). */
	Q_T_KEYWORDS_START,
	Q_T_BOOL,
	Q_T_BY,
	Q_T_GROUP_LEFT,
	Q_T_GROUP_RIGHT,
	Q_T_IGNORING,
	Q_T_OFFSET,
	Q_T_ON,
	Q_T_WITHOUT,
	Q_T_KEYWORDS_END,

	/* @ modifier preprocessors. */
	Q_T_START,
	Q_T_END,
};

struct q_token {
	enum q_tok	 type;
	size_t		 pos;	/* byte offset of the token (or of the error) */
	size_t		 len;
	const char	*text;	/* the token's bytes in the input */
};

struct q_lexer {
	const char	*in;
	size_t		 len;
	size_t		 pos;
	size_t		 start;
	size_t		 width;		/* of the last rune read */
	int		 paren_depth;
	int		 brace_open;
	int		 bracket_open;
	int		 got_colon;
	int		 want_duration;	/* just after [ */
	int		 done;		/* after EOF or an error */
	char		 err[256];	/* message of the Q_T_ERROR token */
};

void	q_lex_init(struct q_lexer *, const char *in, size_t len);
void	q_lex_next(struct q_lexer *, struct q_token *);

#endif
