/*
 * sample: labels, samples and the batches collectors hand to the core.
 *
 * A series is identified by its metric name and its labels.  A sample's
 * labels are sorted by name with "__name__" (the metric name) first, as
 * Prometheus orders them; labels with an empty value do not exist (the
 * Prometheus rule) and are dropped on insertion.
 *
 * A batch owns every string of every sample in it (an arena), so a collector
 * may pass stack buffers.  A batch is filled on one thread and read after.
 */
#ifndef MONITORD_SAMPLE_H
#define MONITORD_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

/* Prometheus's staleness marker: a NaN with this exact bit pattern. */
#define STALE_NAN_BITS	0x7ff0000000000002ULL

struct label {
	const char	*name;
	const char	*value;
};

struct sample {
	struct label	*labels;	/* sorted; labels[0] is __name__ */
	size_t		 nlabels;
	int64_t		 t;		/* milliseconds since the epoch */
	double		 v;
};

struct batch;

struct batch	*batch_new(void);
void		 batch_free(struct batch *);
void		 batch_reset(struct batch *);

/*
 * Add one sample of metric NAME with the N labels in LBLS (any order).
 * Returns 0, or -1 when a label name repeats or a name is not a valid
 * Prometheus label/metric name (the sample is not added).
 */
int		 batch_add(struct batch *, const char *name,
		    const struct label *lbls, size_t n, int64_t t, double v);
/* Same, with NULL-terminated name, value, name, value, ... pairs. */
int		 batch_addl(struct batch *, const char *name, int64_t t, double v,
		    ...) __attribute__((sentinel));
/*
 * Import bodies write each series the same way on many lines.
 * batch_ref_set remembers that the sample just added was written as RAW
 * (any bytes); batch_ref finds the label set of a series written so
 * (NULL when none, *n its count), which batch_add_ref then takes as is:
 * the labels must be ones batch_ref returned from this batch.  Up to the
 * batch_reset or batch_free.
 */
void		 batch_ref_set(struct batch *, const char *raw, size_t len);
const struct label *batch_ref(struct batch *, const char *raw, size_t len,
		    size_t *n);
void		 batch_add_ref(struct batch *, const struct label *, size_t n,
		    int64_t t, double v);
size_t		 batch_len(const struct batch *);
const struct sample *batch_at(const struct batch *, size_t);
/*
 * Set label NAME to VALUE on every sample.  With keep_existing, a sample that
 * already has NAME keeps it (Prometheus's honor_labels); otherwise the old
 * value moves to "exported_NAME" as Prometheus does.
 */
void		 batch_set_label(struct batch *, const char *name,
		    const char *value, int keep_existing);
/* Overwrite the timestamp of every sample whose t is 0. */
void		 batch_default_time(struct batch *, int64_t t);

/* Label helpers shared by every module. */
int		 label_name_valid(const char *);
int		 metric_name_valid(const char *);
const char	*labels_get(const struct label *, size_t n, const char *name);
int		 labels_cmp(const struct label *, size_t, const struct label *, size_t);

#endif
