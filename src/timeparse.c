/*
 * timeparse: API time and duration parameters (see timeparse.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timeparse.h"
#include "units.h"

/* Days from 1970-01-01 to Y-M-D (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		era;
	unsigned	yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
parse_rfc3339(const char *s, int64_t *ms)
{
	const char	*p = s;
	int		 y, mo, d, h, mi, sec, frac_ms = 0, oh, om;
	int64_t		 t;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) || (*p != 'T' && *p != 't' &&
	    *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	if (*p == '.') {
		int scale = 100;

		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			frac_ms += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + sec;
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		p++;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
			return -1;
		t -= sign * (oh * 3600 + om * 60);
	} else
		return -1;
	if (*p != '\0')
		return -1;
	*ms = t * 1000 + frac_ms;
	return 0;
}

int
timeparse_time(const char *s, int64_t *ms, char *err, size_t errlen)
{
	char	*end;
	double	 v;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty time");
		return -1;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == '\0' && errno == 0 && isfinite(v)) {
		/* Prometheus rounds to the millisecond. */
		if (v > 9.2e15 || v < -9.2e15) {
			snprintf(err, errlen, "cannot parse \"%s\" to a valid "
			    "timestamp", s);
			return -1;
		}
		*ms = (int64_t)llround(v * 1000.0);
		return 0;
	}
	if (parse_rfc3339(s, ms) == 0)
		return 0;
	snprintf(err, errlen, "cannot parse \"%s\" to a valid timestamp", s);
	return -1;
}

int
timeparse_duration(const char *s, int64_t *ms, char *err, size_t errlen)
{
	char	*end, uerr[128];
	double	 v;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "empty duration");
		return -1;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == '\0' && errno == 0 && isfinite(v)) {
		if (v * 1000.0 > 9.2e18) {
			snprintf(err, errlen, "cannot parse \"%s\" to a valid "
			    "duration. It overflows int64", s);
			return -1;
		}
		*ms = (int64_t)llround(v * 1000.0);
	} else if (units_parse_duration(s, ms, uerr, sizeof(uerr)) == -1) {
		snprintf(err, errlen, "cannot parse \"%s\" to a valid duration",
		    s);
		return -1;
	}
	if (*ms <= 0) {
		snprintf(err, errlen, "zero or negative query resolution step "
		    "widths are not accepted. Try a positive integer");
		return -1;
	}
	return 0;
}
