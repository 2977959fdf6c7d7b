/*
 * fuzz_conf: monitord.conf parsing and validation on arbitrary text.
 *
 * The schema is the real core one plus a collector kind with a key of every
 * type, so that every value checker and the cross-section checks run.  A
 * file that loads is then read back through every getter.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/collector.h"
#include "conf.h"
#include "schema.h"
#include "xmalloc.h"

static const struct conf_key common_keys[] = {
	{ "interval", CONF_DURATION, 0, "15s", NULL, 1000, 3600000, "" },
	{ "timeout", CONF_DURATION, 0, NULL, NULL, 0, 0, "" },
	{ "labels", CONF_LABELS, 0, NULL, NULL, 0, 0, "" },
	{ NULL }
};

static const struct conf_key every_type[] = {
	{ "s", CONF_STRING, CONF_MULTI, "x", NULL, 0, 0, "" },
	{ "i", CONF_INT, 0, "3", NULL, 1, 10, "" },
	{ "f", CONF_FLOAT, 0, "0.5", NULL, 0, 1, "" },
	{ "b", CONF_BOOL, 0, "no", NULL, 0, 0, "" },
	{ "d", CONF_DURATION, 0, "1s", NULL, 0, 0, "" },
	{ "z", CONF_SIZE, 0, "1KB", NULL, 1024, 1 << 20, "" },
	{ "e", CONF_ENUM, CONF_REQUIRED, NULL, "a|bb|ccc", 0, 0, "" },
	{ "r", CONF_REGEX, 0, NULL, NULL, 0, 0, "" },
	{ "u", CONF_URL, 0, NULL, NULL, 0, 0, "" },
	{ "a", CONF_ADDR, 0, NULL, NULL, 0, 0, "" },
	{ "p", CONF_PATH, 0, NULL, NULL, 0, 0, "" },
	{ "x", CONF_EXPR, 0, NULL, NULL, 0, 0, "" },
	{ NULL }
};

static const struct collector_kind fuzz_kind = {
	.kind = "t",
	.help = "every type",
	.keys = every_type,
};

static const struct collector_kind *const fuzz_collectors[] = {
	&fuzz_kind, NULL
};

/* Every getter that fits each declared key of S. */
static void
read_back(const struct conf_section *s)
{
	const struct conf_kind	*k = conf_section_kind_decl(s);
	const struct conf_key	*lists[2] = { k->keys, k->common };
	const char		*n, *v;
	size_t			 l, i, j;

	for (l = 0; l < 2; l++) {
		for (i = 0; lists[l] != NULL && lists[l][i].name != NULL; i++) {
			const struct conf_key *key = &lists[l][i];

			(void)conf_str(s, key->name);
			(void)conf_has(s, key->name);
			for (j = 0; j < conf_multi_count(s, key->name); j++)
				(void)conf_multi_line(s, key->name, j);
			switch (key->type) {
			case CONF_INT: (void)conf_int(s, key->name); break;
			case CONF_FLOAT: (void)conf_float(s, key->name); break;
			case CONF_BOOL: (void)conf_bool(s, key->name); break;
			case CONF_DURATION: (void)conf_duration(s, key->name); break;
			case CONF_SIZE: (void)conf_size(s, key->name); break;
			case CONF_ENUM: (void)conf_enum(s, key->name); break;
			case CONF_LABELS:
				for (j = 0; conf_label_at(s, key->name, j, &n,
				    &v) == 0; j++)
					;
				break;
			default:
				break;
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct conf_kind *const *kinds;
	struct conf_errors	*errs = conf_errors_new();
	struct conf		*conf;
	char			*text = xstrndup((const char *)data, size);
	size_t			 i;

	if (kinds == NULL)
		kinds = schema_kinds_new_with(fuzz_collectors, common_keys);
	conf = schema_load("fuzz.conf", text, kinds, NULL, errs);
	if (conf != NULL) {
		for (i = 0; i < conf_count(conf, NULL); i++)
			read_back(conf_at(conf, NULL, i));
	}
	for (i = 0; i < conf_errors_count(errs); i++)
		(void)strlen(conf_errors_at(errs, i));
	conf_free(conf);
	conf_errors_free(errs);
	free(text);
	return 0;
}
