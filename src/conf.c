/*
 * conf: the monitord.conf parser, validation and typed getters (see conf.h).
 *
 * The file is read whole into one buffer that the conf keeps: section names
 * and values are NUL-terminated (and unquoted) in place, so a value costs no
 * allocation of its own.  Parsing is line by line and never stops at an
 * error: a bad header skips its section's keys (their errors would only be
 * noise), anything else is reported and the next line parsed.  Every
 * declared key of a section has a slot holding the values written for it;
 * defaults are parsed once per kind into a hidden section, so getters fall
 * back to it and a thousand sections cost no more default parsing than one.
 *
 * Written by hand rather than with libinih: Debian's build of it reports no
 * line numbers and does not know '#' after a value.
 */
#include "config.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "conf_value.h"
#include "xmalloc.h"


struct conf_slot {
	const struct conf_key	*key;
	struct conf_value	*v;
	size_t			 n;
	size_t			 cap;
	size_t			 nvalid;
};

struct conf_section {
	struct conf		*conf;
	const struct conf_kind	*kind;
	size_t			 kindidx;
	const char		*name;		/* NULL when unnamed */
	int			 line;		/* 0: made up for a unique kind */
	int			 nerrors;
	struct conf_slot	*slots;		/* keys, then common */
	size_t			 nslots;
};

struct conf_list {
	struct conf_section	**v;
	size_t			  n;
	size_t			  cap;
};

struct conf {
	char			 *path;
	char			 *text;
	const struct conf_kind	*const *kinds;
	size_t			  nkinds;
	struct conf_hooks	  hooks;
	struct conf_list	  all;
	struct conf_list	 *bykind;	/* nkinds */
	struct conf_section	**defaults;	/* nkinds */
};

struct conf_error {
	int	 line;		/* for sorting; INT_MAX sorts last */
	size_t	 seq;
	char	*msg;
};

struct conf_errors {
	struct conf_error	*v;
	size_t			 n;
	size_t			 cap;
	size_t			 start;		/* first error of this load */
	int			 full;		/* CONF_MAX_ERRORS reached */
};

struct parser {
	struct conf		*conf;
	struct conf_errors	*errs;
	int			 line;
	struct conf_section	*cur;		/* NULL: no usable section */
	int			 headers;	/* section headers seen */
	int			 stop;
};

/* Errors. */

struct conf_errors *
conf_errors_new(void)
{
	return xcalloc(1, sizeof(struct conf_errors));
}

void
conf_errors_free(struct conf_errors *errs)
{
	size_t	i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->v[i].msg);
	free(errs->v);
	free(errs);
}

size_t
conf_errors_count(const struct conf_errors *errs)
{
	return errs->n;
}

const char *
conf_errors_at(const struct conf_errors *errs, size_t i)
{
	return i < errs->n ? errs->v[i].msg : NULL;
}

void
conf_errors_print(const struct conf_errors *errs, FILE *f)
{
	size_t	i;

	for (i = 0; i < errs->n; i++)
		fprintf(f, "%s\n", errs->v[i].msg);
}

static void
errors_push(struct conf_errors *errs, int sortline, char *msg)
{
	if (errs->n == errs->cap) {
		errs->cap = errs->cap == 0 ? 16 : errs->cap * 2;
		errs->v = xreallocarray(errs->v, errs->cap, sizeof(*errs->v));
	}
	errs->v[errs->n].line = sortline;
	errs->v[errs->n].seq = errs->n;
	errs->v[errs->n].msg = msg;
	errs->n++;
}

static void
errors_vadd(struct conf_errors *errs, const char *path, int line,
    const char *fmt, va_list ap)
{
	char	*text, *msg;

	if (errs->n - errs->start >= CONF_MAX_ERRORS) {
		errs->full = 1;
		return;
	}
	xvasprintf(&text, fmt, ap);
	if (line > 0)
		xasprintf(&msg, "%s:%d: %s", path, line, text);
	else
		xasprintf(&msg, "%s: %s", path, text);
	free(text);
	errors_push(errs, line, msg);
}

static void __attribute__((format(printf, 4, 5)))
errors_add(struct conf_errors *errs, const char *path, int line,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	errors_vadd(errs, path, line, fmt, ap);
	va_end(ap);
}

static int
error_cmp(const void *a, const void *b)
{
	const struct conf_error	*x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort this load's errors by line and say when some were dropped. */
static void
errors_finish(struct conf_errors *errs, const char *path)
{
	char	*msg;

	if (errs->n - errs->start > 1)
		qsort(errs->v + errs->start, errs->n - errs->start,
		    sizeof(*errs->v), error_cmp);
	if (errs->full) {
		xasprintf(&msg, "%s: too many errors, stopped after %d", path,
		    CONF_MAX_ERRORS);
		errors_push(errs, INT_MAX, msg);
	}
}

static struct conf_slot *slot_find(const struct conf_section *, const char *);

static int
key_line(const struct conf_section *s, const char *key)
{
	const struct conf_slot	*slot;

	if (key == NULL || (slot = slot_find(s, key)) == NULL || slot->n == 0)
		return s->line;
	return slot->v[0].line;
}

void
conf_error(struct conf_errors *errs, const struct conf_section *s,
    const char *key, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	errors_vadd(errs, s->conf->path, key_line(s, key), fmt, ap);
	va_end(ap);
	/* Bookkeeping of the load, not part of what const promises callers. */
	((struct conf_section *)s)->nerrors++;
}

void
conf_error_line(struct conf_errors *errs, const struct conf_section *s,
    int line, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	errors_vadd(errs, s->conf->path, line, fmt, ap);
	va_end(ap);
	((struct conf_section *)s)->nerrors++;
}

static void __attribute__((format(printf, 2, 3)))
parse_error(struct parser *p, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	errors_vadd(p->errs, p->conf->path, p->line, fmt, ap);
	va_end(ap);
	if (p->cur != NULL)
		p->cur->nerrors++;
	if (p->errs->full)
		p->stop = 1;
}

/*
 * Quote user text for a message: escapes, no control bytes (a config line
 * must not forge log lines), at most CONF_QUOTE_MAX bytes.
 */
const char *
conf_quote(char *out, size_t outlen, const char *s)
{
	struct buf	b = BUF_INIT;
	size_t		i;

	buf_addc(&b, '"');
	for (i = 0; s[i] != '\0' && i < CONF_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf_printf(&b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(&b, "\\x%02x", c);
		else
			buf_addc(&b, (char)c);
	}
	buf_adds(&b, s[i] != '\0' ? "...\"" : "\"");
	snprintf(out, outlen, "%s", b.data);
	buf_free(&b);
	return out;
}

/* "[kind]" or "[kind "name"]" for messages. */
static const char *
section_label(char *out, size_t outlen, const struct conf_kind *kind,
    const char *name)
{
	char	q[CONF_QUOTE_LEN];

	if (name == NULL)
		snprintf(out, outlen, "[%s]", kind->kind);
	else
		snprintf(out, outlen, "[%s %s]", kind->kind,
		    conf_quote(q, sizeof(q), name));
	return out;
}

/* Suggestions: optimal string alignment distance, bounded inputs. */

static size_t
edit_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j;
	size_t	d[CONF_QUOTE_MAX + 1][CONF_QUOTE_MAX + 1];

	if (la > CONF_QUOTE_MAX || lb > CONF_QUOTE_MAX)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1], best;

			best = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* Keep CAND in *BEST when it is the closest plausible spelling of WORD. */
static void
suggest(const char *word, const char *cand, const char **best, size_t *bestd)
{
	size_t	d = edit_distance(word, cand);

	if (d <= 2 && d < strlen(word) && d < *bestd) {
		*best = cand;
		*bestd = d;
	}
}

const char *
conf_suggest(const char *word, const char *const *cands, size_t n)
{
	const char	*best = NULL;
	size_t		 bestd = SIZE_MAX, i;

	for (i = 0; i < n; i++)
		if (cands[i] != NULL)
			suggest(word, cands[i], &best, &bestd);
	return best;
}

/* Schema lookups. */

const char *
conf_type_name(enum conf_type t)
{
	static const char *const names[] = {
		"string", "integer", "number", "boolean", "duration", "size",
		"enum", "regex", "url", "address", "path", "secret", "labels",
		"expression",
	};

	if ((size_t)t >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[t];
}

static size_t
keys_count(const struct conf_key *keys)
{
	size_t	n = 0;

	while (keys != NULL && keys[n].name != NULL)
		n++;
	return n;
}

const struct conf_key *
conf_kind_key(const struct conf_kind *kind, const char *name)
{
	const struct conf_key	*lists[2] = { kind->keys, kind->common };
	size_t			 l, i;

	for (l = 0; l < 2; l++) {
		for (i = 0; lists[l] != NULL && lists[l][i].name != NULL; i++)
			if (strcmp(lists[l][i].name, name) == 0)
				return &lists[l][i];
	}
	return NULL;
}

static const char *
kind_suggest(const struct conf_kind *kind, const char *word)
{
	const struct conf_key	*lists[2] = { kind->keys, kind->common };
	const char		*best = NULL;
	size_t			 bestd = SIZE_MAX, l, i;

	for (l = 0; l < 2; l++) {
		for (i = 0; lists[l] != NULL && lists[l][i].name != NULL; i++)
			suggest(word, lists[l][i].name, &best, &bestd);
	}
	return best;
}

static struct conf_slot *
slot_find(const struct conf_section *s, const char *name)
{
	size_t	i;

	for (i = 0; i < s->nslots; i++)
		if (strcmp(s->slots[i].key->name, name) == 0)
			return &s->slots[i];
	return NULL;
}

/* Sections. */

static void
list_add(struct conf_list *l, struct conf_section *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = s;
}

static struct conf_section *
section_new(struct conf *conf, size_t kindidx, const char *name, int line)
{
	const struct conf_kind	*kind = conf->kinds[kindidx];
	struct conf_section	*s;
	size_t			 nkeys = keys_count(kind->keys), i;

	s = xcalloc(1, sizeof(*s));
	s->conf = conf;
	s->kind = kind;
	s->kindidx = kindidx;
	s->name = name;
	s->line = line;
	s->nslots = nkeys + keys_count(kind->common);
	s->slots = xcalloc(s->nslots == 0 ? 1 : s->nslots, sizeof(*s->slots));
	for (i = 0; i < s->nslots; i++)
		s->slots[i].key = i < nkeys ? &kind->keys[i] :
		    &kind->common[i - nkeys];
	return s;
}

static void
section_free(struct conf_section *s)
{
	size_t	i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->nslots; i++) {
		for (j = 0; j < s->slots[i].n; j++)
			conf_value_clear(&s->slots[i].v[j]);
		free(s->slots[i].v);
	}
	free(s->slots);
	free(s);
}

static struct conf_value *
slot_add(struct conf_slot *slot)
{
	struct conf_value	*v;

	if (slot->n == slot->cap) {
		slot->cap = slot->cap == 0 ? 1 : slot->cap * 2;
		slot->v = xreallocarray(slot->v, slot->cap, sizeof(*slot->v));
	}
	v = &slot->v[slot->n++];
	memset(v, 0, sizeof(*v));
	return v;
}

static int
value_parse_into(const struct conf_hooks *h, struct conf_slot *slot,
    const char *text, int line, char *err, size_t errlen)
{
	struct conf_value	*v = slot_add(slot);

	v->line = line;
	if (conf_value_parse(h, slot->key, text, v, err, errlen) == -1)
		return -1;
	slot->nvalid++;
	return 0;
}

/* Line syntax. */

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static char *
skip_space(char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

/* After a value or a header only a comment may follow. */
static int
only_comment(const char *s)
{
	while (is_space(*s))
		s++;
	return *s == '\0' || *s == '#';
}

/*
 * Unquote the string whose opening quote is at P, in place.  On success the
 * text starts at P + 1 and *END points past the closing quote.
 */
static int
unquote(struct parser *p, char *s, char **end)
{
	char	*r = s + 1, *w = s + 1;

	for (;;) {
		if (*r == '\0') {
			parse_error(p, "unterminated quote (missing closing \")");
			return -1;
		}
		if (*r == '"')
			break;
		if (*r == '\\' && r[1] != '\0') {
			switch (r[1]) {
			case '"': case '\\': *w++ = r[1]; break;
			case 'n': *w++ = '\n'; break;
			case 't': *w++ = '\t'; break;
			default:
				parse_error(p, "unknown escape \"\\%c\" in "
				    "quotes (use \\\", \\\\, \\n or \\t)",
				    r[1] >= 0x20 && r[1] < 0x7f ? r[1] : '?');
				return -1;
			}
			r += 2;
			continue;
		}
		*w++ = *r++;
	}
	*end = r + 1;
	*w = '\0';
	return 0;
}

static int
kind_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void
kinds_list(const struct conf *conf, struct buf *b)
{
	size_t	i;

	for (i = 0; i < conf->nkinds; i++)
		buf_printf(b, "%s%s", i > 0 ? ", " : "", conf->kinds[i]->kind);
}

static void
unknown_kind(struct parser *p, const char *kind)
{
	struct buf	 b = BUF_INIT;
	const char	*best = NULL;
	size_t		 bestd = SIZE_MAX, i;
	char		 q[CONF_QUOTE_LEN];

	kinds_list(p->conf, &b);
	for (i = 0; i < p->conf->nkinds; i++)
		suggest(kind, p->conf->kinds[i]->kind, &best, &bestd);
	if (best != NULL)
		parse_error(p, "unknown section kind %s; did you mean \"%s\"? "
		    "(valid: %s)", conf_quote(q, sizeof(q), kind), best, b.data);
	else
		parse_error(p, "unknown section kind %s (valid: %s)",
		    conf_quote(q, sizeof(q), kind), b.data);
	buf_free(&b);
}

static void section_finish(struct parser *, struct conf_section *);

/* Open the section of the header just parsed. */
static void
section_open(struct parser *p, const char *kind, const char *name)
{
	struct conf		*conf = p->conf;
	const struct conf_kind	*k = NULL;
	struct conf_section	*s;
	size_t			 i;
	char			 label[CONF_QUOTE_LEN + 64];

	for (i = 0; i < conf->nkinds && k == NULL; i++)
		if (strcmp(conf->kinds[i]->kind, kind) == 0)
			k = conf->kinds[i];
	if (k == NULL) {
		unknown_kind(p, kind);
		return;
	}
	if (conf->all.n >= CONF_MAX_SECTIONS) {
		parse_error(p, "too many sections (at most %d)",
		    CONF_MAX_SECTIONS);
		p->stop = 1;
		return;
	}
	s = section_new(conf, i - 1, k->named ? name : NULL, p->line);
	list_add(&conf->all, s);
	list_add(&conf->bykind[i - 1], s);
	p->cur = s;
	if (k->named && name == NULL)
		parse_error(p, "section [%s] needs a name: [%s \"NAME\"]",
		    k->kind, k->kind);
	else if (!k->named && name != NULL)
		parse_error(p, "section [%s] takes no name (not %s)", k->kind,
		    section_label(label, sizeof(label), k, name));
	else if (k->named && name[0] == '\0')
		parse_error(p, "section [%s \"\"] has an empty name", k->kind);
	else if (k->named && conf_has_control(name))
		parse_error(p, "section name %s contains a control character",
		    conf_quote(label, sizeof(label), name));
}

/* [kind] or [kind "name"], then only a comment. */
static void
parse_header(struct parser *p, char *s)
{
	char	*kind, *kend, *name = NULL, *end, q[CONF_QUOTE_LEN];

	p->cur = NULL;
	p->headers++;
	kind = skip_space(s + 1);
	for (kend = kind; kind_char(*kend); kend++)
		;
	end = skip_space(kend);
	if (*end == '"') {
		name = end + 1;
		if (unquote(p, end, &end) == -1)
			return;
		end = skip_space(end);
	}
	if (*end == '\0') {
		parse_error(p, "missing \"]\" at the end of the section header");
		return;
	}
	if (*end != ']' || kend == kind) {
		parse_error(p, "bad section header %s: expected [kind] or "
		    "[kind \"name\"]", conf_quote(q, sizeof(q), s));
		return;
	}
	if (!only_comment(end + 1)) {
		parse_error(p, "unexpected text after \"]\": %s",
		    conf_quote(q, sizeof(q), skip_space(end + 1)));
		return;
	}
	*kend = '\0';
	section_open(p, kind, name);
}

static int
key_char(char c)
{
	return kind_char(c) || c == '.';
}

/* The value after "=": quoted, or up to a '#' that follows a blank. */
static char *
parse_value(struct parser *p, char *s)
{
	char	*end, *v, q[CONF_QUOTE_LEN];

	s = skip_space(s);
	if (*s == '"') {
		if (unquote(p, s, &end) == -1)
			return NULL;
		if (!only_comment(end)) {
			parse_error(p, "unexpected text after the closing "
			    "quote: %s", conf_quote(q, sizeof(q), skip_space(end)));
			return NULL;
		}
		return s + 1;
	}
	for (v = s; *v != '\0'; v++) {
		if (*v == '#' && (v == s || is_space(v[-1]))) {
			*v = '\0';
			break;
		}
	}
	return conf_trim(s);
}

static void section_add(struct parser *, char *, const char *);

static void
parse_key(struct parser *p, char *s)
{
	char	*eq, *key, *value, *k, q[CONF_QUOTE_LEN];

	if ((eq = strchr(s, '=')) == NULL) {
		parse_error(p, "expected \"key = value\" or a [section], not %s",
		    conf_quote(q, sizeof(q), s));
		return;
	}
	*eq = '\0';
	key = conf_trim(s);
	if (*key == '\0') {
		parse_error(p, "missing key before \"=\"");
		return;
	}
	for (k = key; key_char(*k); k++)
		;
	if (*k != '\0') {
		parse_error(p, "invalid key name %s", conf_quote(q, sizeof(q), key));
		return;
	}
	/* A value with bad syntax still counts as written (NULL). */
	value = parse_value(p, eq + 1);
	if (p->cur != NULL)
		section_add(p, key, value);
	else if (p->headers == 0)
		parse_error(p, "key %s outside of any section (add a "
		    "[section] header above it)", conf_quote(q, sizeof(q), key));
	/* else: in a section whose header was bad, already reported */
}

static void
parse_line(struct parser *p, char *s)
{
	s = skip_space(s);
	if (*s == '\0' || *s == '#')
		return;
	if (*s == '[') {
		if (p->cur != NULL)
			section_finish(p, p->cur);
		parse_header(p, s);
		return;
	}
	parse_key(p, s);
}

/* Keys and sections. */

static void
section_add(struct parser *p, char *key, const char *text)
{
	struct conf_section	*s = p->cur;
	struct conf_slot	*slot;
	const char		*best;
	char			 err[1024], label[CONF_QUOTE_LEN + 64];
	char			 q[CONF_QUOTE_LEN];

	if ((slot = slot_find(s, key)) == NULL) {
		section_label(label, sizeof(label), s->kind, s->name);
		conf_quote(q, sizeof(q), key);
		if ((best = kind_suggest(s->kind, key)) != NULL)
			parse_error(p, "unknown key %s in %s; did you mean "
			    "\"%s\"?", q, label, best);
		else
			parse_error(p, "unknown key %s in %s", q, label);
		return;
	}
	if (slot->n > 0 && !(slot->key->flags & CONF_MULTI)) {
		parse_error(p, "duplicate key \"%s\" (first at line %d)", key,
		    slot->v[0].line);
		return;
	}
	if (text == NULL) {
		slot_add(slot)->line = p->line;
		return;
	}
	if (value_parse_into(&p->conf->hooks, slot, text, p->line, err,
	    sizeof(err)) == -1)
		parse_error(p, "%s", err);
}

static void
section_finish(struct parser *p, struct conf_section *s)
{
	char	label[CONF_QUOTE_LEN + 64];
	size_t	i;

	for (i = 0; i < s->nslots; i++) {
		if ((s->slots[i].key->flags & CONF_REQUIRED) &&
		    s->slots[i].n == 0)
			conf_error(p->errs, s, NULL, "missing required key "
			    "\"%s\" in %s", s->slots[i].key->name,
			    section_label(label, sizeof(label), s->kind,
			    s->name));
	}
	if (s->nerrors == 0 && s->kind->check != NULL)
		s->kind->check(s, p->errs);
	if (p->errs->full)
		p->stop = 1;
}

/*
 * Each kind's defaults, parsed once into a section no one sees.  A default
 * that does not parse is a bug in the table; say so at load.
 */
static void
defaults_build(struct conf *conf, struct conf_errors *errs)
{
	struct conf_section	*d;
	size_t			 i, j;
	char			 err[1024];

	conf->defaults = xcalloc(conf->nkinds + 1, sizeof(*conf->defaults));
	for (i = 0; i < conf->nkinds; i++) {
		d = conf->defaults[i] = section_new(conf, i, NULL, 0);
		for (j = 0; j < d->nslots; j++) {
			if (d->slots[j].key->def == NULL)
				continue;
			if (value_parse_into(&conf->hooks, &d->slots[j],
			    d->slots[j].key->def, 0, err, sizeof(err)) == -1)
				errors_add(errs, conf->path, 0, "internal error: "
				    "default of %s in [%s]: %s",
				    d->slots[j].key->name, d->kind->kind, err);
		}
	}
}

static const char *
name_or_empty(const struct conf_section *s)
{
	return s->name != NULL ? s->name : "";
}

static int
section_cmp(const void *a, const void *b)
{
	const struct conf_section *x = *(struct conf_section *const *)a;
	const struct conf_section *y = *(struct conf_section *const *)b;
	int	c;

	if ((c = strcmp(name_or_empty(x), name_or_empty(y))) != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static void
duplicate(struct conf_errors *errs, const struct conf_section *s, int first)
{
	char	label[CONF_QUOTE_LEN + 64];

	conf_error(errs, s, NULL, "duplicate section %s (first at line %d)",
	    section_label(label, sizeof(label), s->kind, s->name), first);
}

/*
 * Two sections of a unique kind, or two of a named kind with one name.
 * Sorting a copy by name keeps this O(n log n) for generated configs.
 */
static void
duplicates_check(struct conf *conf, struct conf_errors *errs)
{
	const struct conf_list	 *l;
	struct conf_section	**v, *first;
	size_t			  i, j;

	for (i = 0; i < conf->nkinds; i++) {
		l = &conf->bykind[i];
		if (l->n < 2)
			continue;
		if (conf->kinds[i]->unique) {
			for (j = 1; j < l->n; j++)
				duplicate(errs, l->v[j], l->v[0]->line);
			continue;
		}
		if (!conf->kinds[i]->named)
			continue;
		v = xreallocarray(NULL, l->n, sizeof(*v));
		memcpy(v, l->v, l->n * sizeof(*v));
		qsort(v, l->n, sizeof(*v), section_cmp);
		for (first = v[0], j = 1; j < l->n; j++) {
			/* A nameless one was reported as such already. */
			if (v[j]->name == NULL)
				continue;
			if (first->name != NULL &&
			    strcmp(v[j]->name, first->name) == 0)
				duplicate(errs, v[j], first->line);
			else
				first = v[j];
		}
		free(v);
	}
}

/* Unique unnamed kinds the file does not have exist, empty. */
static void
auto_sections(struct parser *p)
{
	struct conf		*conf = p->conf;
	struct conf_section	*s;
	size_t			 i;

	for (i = 0; i < conf->nkinds; i++) {
		if (!conf->kinds[i]->unique || conf->kinds[i]->named ||
		    conf->bykind[i].n > 0)
			continue;
		s = section_new(conf, i, NULL, 0);
		list_add(&conf->all, s);
		list_add(&conf->bykind[i], s);
		section_finish(p, s);
	}
}

/* Reading. */

static char *
read_file(const char *path, size_t *lenp, struct conf_errors *errs)
{
	struct buf	b = BUF_INIT;
	ssize_t		n;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		errors_add(errs, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	for (;;) {
		buf_reserve(&b, 65536);
		n = read(fd, b.data + b.len, 65536);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errors_add(errs, path, 0, "cannot read: %s",
			    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		b.data[b.len] = '\0';
		if (b.len > CONF_MAX_FILE)
			break;
	}
	close(fd);
	if (n == -1) {
		buf_free(&b);
		return NULL;
	}
	*lenp = b.len;
	return buf_detach(&b);
}

static void
parse_text(struct parser *p, char *text, size_t len)
{
	char	*line = text, *nl, *end = text + len;
	size_t	 n;

	/* An editor's byte order mark is not part of the first key. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	while (line < end && !p->stop) {
		p->line++;
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		*nl = '\0';
		n = (size_t)(nl - line);
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n > CONF_MAX_LINE)
			parse_error(p, "line is longer than %d bytes",
			    CONF_MAX_LINE);
		else if (memchr(line, '\0', n) != NULL)
			parse_error(p, "line contains a NUL byte");
		else
			parse_line(p, line);
		line = nl + 1;
	}
	if (p->cur != NULL && !p->stop)
		section_finish(p, p->cur);
}

static struct conf *
conf_new(const char *path, const struct conf_kind *const *kinds,
    const struct conf_hooks *hooks)
{
	struct conf	*conf;

	conf = xcalloc(1, sizeof(*conf));
	conf->path = xstrdup(path);
	conf->kinds = kinds;
	while (kinds[conf->nkinds] != NULL)
		conf->nkinds++;
	if (hooks != NULL)
		conf->hooks = *hooks;
	conf->bykind = xcalloc(conf->nkinds + 1, sizeof(*conf->bykind));
	return conf;
}

struct conf *
conf_load_with(const char *path, const char *text,
    const struct conf_kind *const *kinds, const struct conf_hooks *hooks,
    struct conf_errors *errs)
{
	struct parser	p;
	struct conf	*conf = conf_new(path, kinds, hooks);
	size_t		 len = 0;

	errs->start = errs->n;
	errs->full = 0;
	memset(&p, 0, sizeof(p));
	p.conf = conf;
	p.errs = errs;
	defaults_build(conf, errs);
	if (text != NULL) {
		len = strlen(text);
		conf->text = len > CONF_MAX_FILE ? NULL : xstrdup(text);
	} else
		conf->text = read_file(path, &len, errs);
	if (len > CONF_MAX_FILE) {
		errors_add(errs, path, 0, "file is larger than %d MiB",
		    CONF_MAX_FILE / (1024 * 1024));
		free(conf->text);
		conf->text = NULL;
	}
	if (conf->text != NULL) {
		parse_text(&p, conf->text, len);
		if (!p.stop) {
			duplicates_check(conf, errs);
			auto_sections(&p);
		}
		if (!p.stop && conf->hooks.check != NULL)
			conf->hooks.check(conf, errs);
	}
	errors_finish(errs, path);
	if (errs->n > errs->start) {
		conf_free(conf);
		return NULL;
	}
	return conf;
}

struct conf *
conf_load(const char *path, const char *text,
    const struct conf_kind *const *kinds, struct conf_errors *errs)
{
	return conf_load_with(path, text, kinds, NULL, errs);
}

void
conf_free(struct conf *conf)
{
	size_t	i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->all.n; i++)
		section_free(conf->all.v[i]);
	free(conf->all.v);
	for (i = 0; i < conf->nkinds; i++) {
		free(conf->bykind[i].v);
		if (conf->defaults != NULL)
			section_free(conf->defaults[i]);
	}
	free(conf->bykind);
	free(conf->defaults);
	free(conf->text);
	free(conf->path);
	free(conf);
}

/* Access. */

const char *
conf_path(const struct conf *conf)
{
	return conf->path;
}

static const struct conf_list *
kind_list(const struct conf *conf, const char *kind)
{
	size_t	i;

	if (kind == NULL)
		return &conf->all;
	for (i = 0; i < conf->nkinds; i++)
		if (strcmp(conf->kinds[i]->kind, kind) == 0)
			return &conf->bykind[i];
	return NULL;
}

size_t
conf_count(const struct conf *conf, const char *kind)
{
	const struct conf_list	*l = kind_list(conf, kind);

	return l != NULL ? l->n : 0;
}

const struct conf_section *
conf_at(const struct conf *conf, const char *kind, size_t i)
{
	const struct conf_list	*l = kind_list(conf, kind);

	return l != NULL && i < l->n ? l->v[i] : NULL;
}

const struct conf_section *
conf_get(const struct conf *conf, const char *kind)
{
	return conf_at(conf, kind, 0);
}

const char *
conf_section_kind(const struct conf_section *s)
{
	return s->kind->kind;
}

const struct conf_kind *
conf_section_kind_decl(const struct conf_section *s)
{
	return s->kind;
}

const char *
conf_section_name(const struct conf_section *s)
{
	return s->name;
}

int
conf_section_line(const struct conf_section *s)
{
	return s->line;
}

/* Asking for a key the kind does not declare is a bug in the caller. */
static const struct conf_slot *
slot_get(const struct conf_section *s, const char *key, int type1, int type2)
{
	const struct conf_slot	*slot = slot_find(s, key);

	if (slot == NULL) {
		fprintf(stderr, "conf: key \"%s\" is not declared for [%s]\n",
		    key, s->kind->kind);
		abort();
	}
	if (type1 >= 0 && (int)slot->key->type != type1 &&
	    (int)slot->key->type != type2) {
		fprintf(stderr, "conf: key \"%s\" of [%s] is a %s\n", key,
		    s->kind->kind, conf_type_name(slot->key->type));
		abort();
	}
	return slot;
}

/* Value I of KEY: written ones if any, else the default; NULL if none. */
static const struct conf_value *
value_at(const struct conf_section *s, const char *key, size_t idx,
    int type1, int type2)
{
	const struct conf_slot	*slot = slot_get(s, key, type1, type2);
	size_t			 i, n = 0;

	if (slot->nvalid == slot->n && idx < slot->n)
		return &slot->v[idx];
	for (i = 0; i < slot->n; i++) {
		if (slot->v[i].valid && n++ == idx)
			return &slot->v[i];
	}
	if (n > 0 || s->conf->defaults == NULL)
		return NULL;
	slot = slot_find(s->conf->defaults[s->kindidx], key);
	return idx == 0 && slot->n == 1 && slot->v[0].valid ? &slot->v[0] :
	    NULL;
}

int
conf_has(const struct conf_section *s, const char *key)
{
	return slot_get(s, key, -1, -1)->n > 0;
}

const char *
conf_str(const struct conf_section *s, const char *key)
{
	const struct conf_value	*v = value_at(s, key, 0, -1, -1);

	return v != NULL ? v->text : "";
}

int64_t
conf_int(const struct conf_section *s, const char *key)
{
	const struct conf_value	*v = value_at(s, key, 0, CONF_INT, CONF_INT);

	return v != NULL ? v->v.i : 0;
}

double
conf_float(const struct conf_section *s, const char *key)
{
	const struct conf_value	*v = value_at(s, key, 0, CONF_FLOAT, CONF_INT);

	if (v == NULL)
		return 0;
	return slot_find(s, key)->key->type == CONF_INT ? (double)v->v.i :
	    v->v.d;
}

int
conf_bool(const struct conf_section *s, const char *key)
{
	const struct conf_value	*v = value_at(s, key, 0, CONF_BOOL, CONF_BOOL);

	return v != NULL ? (int)v->v.i : 0;
}

int64_t
conf_duration(const struct conf_section *s, const char *key)
{
	const struct conf_value	*v;

	v = value_at(s, key, 0, CONF_DURATION, CONF_DURATION);
	return v != NULL ? v->v.i : 0;
}

uint64_t
conf_size(const struct conf_section *s, const char *key)
{
	const struct conf_value	*v = value_at(s, key, 0, CONF_SIZE, CONF_SIZE);

	return v != NULL ? v->v.u : 0;
}

int
conf_enum(const struct conf_section *s, const char *key)
{
	const struct conf_value	*v = value_at(s, key, 0, CONF_ENUM, CONF_ENUM);

	return v != NULL ? (int)v->v.i : 0;
}

size_t
conf_multi_count(const struct conf_section *s, const char *key)
{
	size_t	n = 0;

	while (value_at(s, key, n, -1, -1) != NULL)
		n++;
	return n;
}

const char *
conf_multi_at(const struct conf_section *s, const char *key, size_t i)
{
	const struct conf_value	*v = value_at(s, key, i, -1, -1);

	return v != NULL ? v->text : NULL;
}

int
conf_multi_line(const struct conf_section *s, const char *key, size_t i)
{
	const struct conf_value	*v = value_at(s, key, i, -1, -1);

	return v != NULL ? v->line : 0;
}

size_t
conf_labels_count(const struct conf_section *s, const char *key)
{
	const struct conf_value	*v;

	v = value_at(s, key, 0, CONF_LABELS, CONF_LABELS);
	return v != NULL ? v->nlabels : 0;
}

int
conf_label_at(const struct conf_section *s, const char *key, size_t i,
    const char **name, const char **value)
{
	const struct conf_value	*v;

	v = value_at(s, key, 0, CONF_LABELS, CONF_LABELS);
	if (v == NULL || i >= v->nlabels)
		return -1;
	*name = v->labels[i].name;
	*value = v->labels[i].value;
	return 0;
}

/* At most SECRET_MAX bytes of FD, one trailing newline removed. */
static char *
secret_slurp(int fd, const char *path, char *err, size_t errlen)
{
	char	*data = xmalloc(SECRET_MAX + 1);
	size_t	 len = 0;
	ssize_t	 n = 0;

	while (len <= SECRET_MAX) {
		n = read(fd, data + len, SECRET_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n == -1 || len > SECRET_MAX) {
		if (n == -1)
			snprintf(err, errlen, "cannot read secret file %s: %s",
			    path, strerror(errno));
		else
			snprintf(err, errlen, "secret file %s is larger than "
			    "%d bytes", path, SECRET_MAX);
		explicit_bzero(data, SECRET_MAX + 1);
		free(data);
		return NULL;
	}
	if (len > 0 && data[len - 1] == '\n')
		len--;
	if (len > 0 && data[len - 1] == '\r')
		len--;
	data[len] = '\0';
	return data;
}

char *
conf_read_secret(const struct conf_section *s, const char *key, char *err,
    size_t errlen)
{
	const char	*path = conf_str(s, key);
	struct stat	 st;
	char		*data;
	int		 fd;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "cannot read secret file %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (conf_secret_mode_ok(path, &st, err, errlen) == -1)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "cannot read secret file %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	/* The file may have been replaced since the stat: check this one. */
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "cannot read secret file %s: %s", path,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	if (conf_secret_mode_ok(path, &st, err, errlen) == -1) {
		close(fd);
		return NULL;
	}
	data = secret_slurp(fd, path, err, errlen);
	close(fd);
	return data;
}
