/*
 * conf_value: one value checked against its declared type (internal to the
 * conf module; see conf.h for the types).
 *
 * conf_value_parse fills a struct conf_value from the text of a value: the
 * parsed number, duration, size, enum index or label list.  Messages say
 * what is wrong with the value, without the file and line, which the caller
 * adds, and never echo a part of a URL that may hold a password.
 */
#ifndef MONITORD_CONF_VALUE_H
#define MONITORD_CONF_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include <sys/stat.h>

#include "conf.h"

#define SECRET_MAX	(64 * 1024)	/* a password or token, not a file */

struct conf_label {
	char	*name;
	char	*value;
};

struct conf_value {
	const char		*text;		/* as written, unquoted */
	int			 line;		/* 0: the kind's default */
	int			 valid;
	union {
		int64_t		 i;
		uint64_t	 u;
		double		 d;
	}			 v;
	char			*labelbuf;	/* CONF_LABELS: split copy */
	struct conf_label	*labels;
	size_t			 nlabels;
};

/*
 * 0, or -1 with the message in ERR.  TEXT must outlive V (V points into it);
 * conf_value_clear frees what V holds, not V.
 */
int	 conf_value_parse(const struct conf_hooks *, const struct conf_key *,
	    const char *text, struct conf_value *, char *err, size_t errlen);
void	 conf_value_clear(struct conf_value *);
/* A secret file's stat(2) result is acceptable; else -1 with ERR. */
int	 conf_secret_mode_ok(const char *path, const struct stat *, char *err,
	    size_t errlen);

/* Bytes below 0x20 or 0x7f. */
int	 conf_has_control(const char *);
/* Blanks (space, tab) cut from both ends, in place. */
char	*conf_trim(char *);

#endif
