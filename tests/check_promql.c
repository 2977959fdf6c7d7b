/*
 * Tests of the PromQL parser: canonical printing and round trips, error
 * messages and positions, the tree it builds, limits, and the Go-compatible
 * formatting helpers.
 *
 * The good_cases and bad_cases tables hold Prometheus 2.42's own answers:
 * each query was sent to a real Prometheus (its query API for the error
 * text, its rules API for the printed form) and the answer copied here.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tcheck.h"
#include "buf.h"
#include "query/functions.h"
#include "query/parser.h"
#include "query/quote.h"
#include "query/regex.h"

/*
 * Queries and the canonical text Prometheus 2.42 prints for them (its
 * String(), read back from its rules API).
 */
static const struct good_case {
	const char	*query;
	const char	*canonical;
} good_cases[] = {
	{ "foo",
	    "foo" },
	{ "foo{job=\"a\", code=~\"5..\"}",
	    "foo{code=~\"5..\",job=\"a\"}" },
	{ "{__name__=\"foo\", a!=\"b\"}",
	    "{__name__=\"foo\",a!=\"b\"}" },
	{ "{a=\"b\",__name__=\"c\"}",
	    "{__name__=\"c\",a=\"b\"}" },
	{ "x{c=\"1\",b=\"2\",a=\"3\"}",
	    "x{a=\"3\",b=\"2\",c=\"1\"}" },
	{ "x{a=~\"x\",a=\"x\",a!=\"x\",a!~\"x\"}",
	    "x{a!=\"x\",a!~\"x\",a=\"x\",a=~\"x\"}" },
	{ "foo{a=\"b\",}",
	    "foo{a=\"b\"}" },
	{ "foo {a=\"b\"}",
	    "foo{a=\"b\"}" },
	{ "group by (on, le, mode) (({__name__='', on=~'5..'}))",
	    "group by (on, le, mode) (({on=~\"5..\"}))" },
	{ "foo{a=\"\\n\\t\\\\\\\"'\"}",
	    "foo{a=\"\\n\\t\\\\\\\"'\"}" },
	{ "foo{a='single'}",
	    "foo{a=\"single\"}" },
	{ "foo{a=`raw\\d`}",
	    "foo{a=\"raw\\\\d\"}" },
	{ "a:b:c",
	    "a:b:c" },
	{ "sum by (job) (rate(x[5m]))",
	    "sum by (job) (rate(x[5m]))" },
	{ "sum(rate(x[5m])) by (job)",
	    "sum by (job) (rate(x[5m]))" },
	{ "sum without (a, b) (x)",
	    "sum without (a, b) (x)" },
	{ "sum by () (x)",
	    "sum(x)" },
	{ "sum without () (x)",
	    "sum without () (x)" },
	{ "sum(x) by (a,b,)",
	    "sum by (a, b) (x)" },
	{ "sum by(a)(x)",
	    "sum by (a) (x)" },
	{ "Sum(x) By (a)",
	    "sum by (a) (x)" },
	{ "SUM(x)",
	    "sum(x)" },
	{ "topk(5, x)",
	    "topk(5, x)" },
	{ "topk(5, x) by (a)",
	    "topk by (a) (5, x)" },
	{ "count_values(\"v\", x)",
	    "count_values(\"v\", x)" },
	{ "count_values by (a) (\"x\", y)",
	    "count_values by (a) (\"x\", y)" },
	{ "quantile(0.9, x)",
	    "quantile(0.9, x)" },
	{ "bottomk without (le) (3, x)",
	    "bottomk without (le) (3, x)" },
	{ "stddev(x) + stdvar(x) + group(x)",
	    "stddev(x) + stdvar(x) + group(x)" },
	{ "sum by (on, sum, bool) (x)",
	    "sum by (on, sum, bool) (x)" },
	{ "sum by (atan2, start, end, offset, and, group_left, bool) (x)",
	    "sum by (atan2, start, end, offset, and, group_left, bool) (x)" },
	{ "sum((a))",
	    "sum((a))" },
	{ "1e6",
	    "1e+06" },
	{ "100000",
	    "100000" },
	{ "123456789",
	    "1.23456789e+08" },
	{ "123456.789",
	    "123456.789" },
	{ "0.0001",
	    "0.0001" },
	{ "0.00001",
	    "1e-05" },
	{ "1e-3",
	    "0.001" },
	{ "1.5e-7",
	    "1.5e-07" },
	{ "1e21",
	    "1e+21" },
	{ "0x1f",
	    "31" },
	{ "0XfF",
	    "255" },
	{ "010",
	    "8" },
	{ "09",
	    "9" },
	{ "01777777777777777777777",
	    "1.7777777777777778e+21" },
	{ "08.5",
	    "8.5" },
	{ ".5",
	    "0.5" },
	{ "5.",
	    "5" },
	{ "1e+3",
	    "1000" },
	{ "1e-400",
	    "0" },
	{ "Inf",
	    "+Inf" },
	{ "-Inf",
	    "-Inf" },
	{ "nan",
	    "NaN" },
	{ "NaN",
	    "NaN" },
	{ "+Inf",
	    "+Inf" },
	{ "-0.0",
	    "-0" },
	{ "-1",
	    "-1" },
	{ "- 1",
	    "-1" },
	{ "--1",
	    "1" },
	{ "+-1",
	    "-1" },
	{ "+1",
	    "1" },
	{ "-(1)",
	    "-(1)" },
	{ "-(-1)",
	    "-(-1)" },
	{ "1 - -1",
	    "1 - -1" },
	{ "-foo",
	    "-foo" },
	{ "+foo",
	    "+foo" },
	{ "- -foo",
	    "--foo" },
	{ "-foo ^ 2",
	    "-foo ^ 2" },
	{ "-2 ^ 2",
	    "-2 ^ 2" },
	{ "-1 ^ 2",
	    "-1 ^ 2" },
	{ "2 ^ 3 ^ 2",
	    "2 ^ 3 ^ 2" },
	{ "(2 ^ 3) ^ 2",
	    "(2 ^ 3) ^ 2" },
	{ "2 ^ -3 ^ 2",
	    "2 ^ -3 ^ 2" },
	{ "a + b * c",
	    "a + b * c" },
	{ "(a + b) * c",
	    "(a + b) * c" },
	{ "a - b - c",
	    "a - b - c" },
	{ "a - (b - c)",
	    "a - (b - c)" },
	{ "-a * b",
	    "-a * b" },
	{ "a * -b",
	    "a * -b" },
	{ "a - -b",
	    "a - -b" },
	{ "a and b or c unless d",
	    "a and b or c unless d" },
	{ "a or b and c",
	    "a or b and c" },
	{ "a == b != c",
	    "a == b != c" },
	{ "a + b > c - d",
	    "a + b > c - d" },
	{ "1 > bool 2",
	    "1 > bool 2" },
	{ "x > bool 1 == 2",
	    "x > bool 1 == 2" },
	{ "1 == bool x",
	    "1 == bool x" },
	{ "a > bool 1",
	    "a > bool 1" },
	{ "a == on (x) group_left (y) b",
	    "a == on (x) group_left (y) b" },
	{ "a * on (x, y) group_right b",
	    "a * on (x, y) group_right () b" },
	{ "a / ignoring (x) b",
	    "a / ignoring (x) b" },
	{ "a + on () b",
	    "a + on () b" },
	{ "a + ignoring () b",
	    "a + b" },
	{ "a + on () group_left () b",
	    "a + on () group_left () b" },
	{ "a + ignoring () group_left () b",
	    "a + b" },
	{ "x > bool on(a) group_left(b) y",
	    "x > bool on (a) group_left (b) y" },
	{ "x + on(a,) y",
	    "x + on (a) y" },
	{ "x AND y",
	    "x and y" },
	{ "x Or y",
	    "x or y" },
	{ "a atan2 b",
	    "a atan2 b" },
	{ "vector(1) atan2 vector(2)",
	    "vector(1) atan2 vector(2)" },
	{ "foo offset 5m",
	    "foo offset 5m" },
	{ "foo OFFSET 5m",
	    "foo offset 5m" },
	{ "foo offset -5m",
	    "foo offset -5m" },
	{ "foo[5m] offset 1h30m",
	    "foo[5m] offset 1h30m" },
	{ "foo offset 90d",
	    "foo offset 90d" },
	{ "foo offset 14d",
	    "foo offset 2w" },
	{ "foo offset 400d",
	    "foo offset 400d" },
	{ "foo offset 1y",
	    "foo offset 1y" },
	{ "foo offset 1500ms",
	    "foo offset 1s500ms" },
	{ "foo @ 100",
	    "foo @ 100.000" },
	{ "foo @ 100.5",
	    "foo @ 100.500" },
	{ "foo @ -5",
	    "foo @ -5.000" },
	{ "foo @ 1e3",
	    "foo @ 1000.000" },
	{ "foo @ 1.23456",
	    "foo @ 1.235" },
	{ "foo @ 0.0001",
	    "foo @ 0.000" },
	{ "foo @ start()",
	    "foo @ start()" },
	{ "foo @ end()",
	    "foo @ end()" },
	{ "foo[5m] @ 100 offset 5m",
	    "foo[5m] @ 100.000 offset 5m" },
	{ "foo[5m] offset 5m @ 100",
	    "foo[5m] @ 100.000 offset 5m" },
	{ "x offset 5m @ 5",
	    "x @ 5.000 offset 5m" },
	{ "foo[5m] @ start() offset 1m",
	    "foo[5m] @ start() offset 1m" },
	{ "foo @ 5 [5m:]",
	    "foo @ 5.000[5m:]" },
	{ "x @ 5 offset 5m [5m:]",
	    "x @ 5.000 offset 5m[5m:]" },
	{ "rate(foo[5m])[30m:1m]",
	    "rate(foo[5m])[30m:1m]" },
	{ "rate(foo[5m])[30m:]",
	    "rate(foo[5m])[30m:]" },
	{ "rate(x[5m])[1h:] @ end()",
	    "rate(x[5m])[1h:] @ end()" },
	{ "foo[5m:1m] @ 10 offset 10m",
	    "foo[5m:1m] @ 10.000 offset 10m" },
	{ "foo[5m x]",
	    "foo[5m:]" },
	{ "x[1h:30s] offset 1w",
	    "x[1h:30s] offset 1w" },
	{ "max_over_time(rate(x[5m])[1h:1m])",
	    "max_over_time(rate(x[5m])[1h:1m])" },
	{ "x[3600s]",
	    "x[1h]" },
	{ "x[120m]",
	    "x[2h]" },
	{ "x[7d]",
	    "x[1w]" },
	{ "x[365d]",
	    "x[1y]" },
	{ "x[366d]",
	    "x[366d]" },
	{ "x[90000ms]",
	    "x[1m30s]" },
	{ "x[1m1ms]",
	    "x[1m1ms]" },
	{ "x[1y2w3d4h5m6s7ms]",
	    "x[382d4h5m6s7ms]" },
	{ "x[9223372036854ms]",
	    "x[106751d23h47m16s854ms]" },
	{ "\"a\\nb\"",
	    "\"a\\nb\"" },
	{ "'a\"b'",
	    "\"a\\\"b\"" },
	{ "`raw\\n`",
	    "\"raw\\\\n\"" },
	{ "\"\\u00e9\"",
	    "\"\303\251\"" },
	{ "\"\303\251\"",
	    "\"\303\251\"" },
	{ "\"\\x01\"",
	    "\"\\x01\"" },
	{ "\"\\a\\b\\f\\v\\r\\0011\"",
	    "\"\\a\\b\\f\\v\\r\\x011\"" },
	{ "\"\\U0001F600\"",
	    "\"\360\237\230\200\"" },
	{ "\"\\u200b\"",
	    "\"\\u200b\"" },
	{ "\"\\u00a0\"",
	    "\"\\u00a0\"" },
	{ "\"\\xff\\xfe\"",
	    "\"\\xff\\xfe\"" },
	{ "\"\342\202\254\"",
	    "\"\342\202\254\"" },
	{ "sum",
	    "sum" },
	{ "offset",
	    "offset" },
	{ "by",
	    "by" },
	{ "without",
	    "without" },
	{ "and",
	    "and" },
	{ "start + end",
	    "start + end" },
	{ "offset offset 5m",
	    "offset offset 5m" },
	{ "sum{a=\"b\"}",
	    "sum{a=\"b\"}" },
	{ "sum[5m]",
	    "sum[5m]" },
	{ "rate(sum[5m])",
	    "rate(sum[5m])" },
	{ "histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket[5m])))",
	    "histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket[5m])))" },
	{ "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job=\"shop-api\"}[5m])))",
	    "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job=\"shop-api\"}[5m])))" },
	{ "sum(rate(http_requests_total{job=\"shop-api\",code=~\"5..\"}[5m])) > 1",
	    "sum(rate(http_requests_total{code=~\"5..\",job=\"shop-api\"}[5m])) > 1" },
	{ "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")",
	    "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")" },
	{ "label_join(up, \"a\", \",\", \"b\", \"c\", \"d\")",
	    "label_join(up, \"a\", \",\", \"b\", \"c\", \"d\")" },
	{ "round(x)",
	    "round(x)" },
	{ "round(x, 0.5)",
	    "round(x, 0.5)" },
	{ "day_of_month()",
	    "day_of_month()" },
	{ "time()",
	    "time()" },
	{ "time() - timestamp(x)",
	    "time() - timestamp(x)" },
	{ "vector(time())",
	    "vector(time())" },
	{ "scalar(sum(x))",
	    "scalar(sum(x))" },
	{ "absent(nonexistent{job=\"x\"})",
	    "absent(nonexistent{job=\"x\"})" },
	{ "clamp(x, 0, 1)",
	    "clamp(x, 0, 1)" },
	{ "predict_linear(x[1h], 3600)",
	    "predict_linear(x[1h], 3600)" },
	{ "quantile_over_time(0.9, x[5m])",
	    "quantile_over_time(0.9, x[5m])" },
	{ "holt_winters(x[5m], 0.5, 0.5)",
	    "holt_winters(x[5m], 0.5, 0.5)" },
	{ "histogram_fraction(0, 1, x)",
	    "histogram_fraction(0, 1, x)" },
	{ "sort_desc(sum by (a) (rate(x[5m])))",
	    "sort_desc(sum by (a) (rate(x[5m])))" },
	{ "x # comment",
	    "x" },
	{ "x{a=~\".+\"}",
	    "x{a=~\".+\"}" },
	{ "{a=~\".+\"}",
	    "{a=~\".+\"}" },
	{ "{a!=\"\"}",
	    "{a!=\"\"}" },
	{ "{a=~\"x*\", b=~\"y\"}",
	    "{a=~\"x*\",b=~\"y\"}" },
	{ "foo{a=~\"\\\\d+\"}",
	    "foo{a=~\"\\\\d+\"}" },
	{ "foo{a=~\"(\?P<n>x)\"}",
	    "foo{a=~\"(\?P<n>x)\"}" },
	{ "rate(x[5m] offset -1h)",
	    "rate(x[5m] offset -1h)" },
	{ "1 / 3",
	    "1 / 3" },
	{ "max_over_time(cpu_usage_percent[1h])",
	    "max_over_time(cpu_usage_percent[1h])" },
	{ "max_over_time(node_memory_MemAvailable_bytes[1m])",
	    "max_over_time(node_memory_MemAvailable_bytes[1m])" },
	{ "rate(http_requests_total[5m])",
	    "rate(http_requests_total[5m])" },
	{ "rate(node_cpu_seconds_total[1m])",
	    "rate(node_cpu_seconds_total[1m])" },
	{ "sum by (mode) (rate(node_cpu_seconds_total[1m]))",
	    "sum by (mode) (rate(node_cpu_seconds_total[1m]))" },
	{ "sum by (service) (rate(http_requests_total[5m]))",
	    "sum by (service) (rate(http_requests_total[5m]))" },
	{ "sum(rate(node_network_receive_bytes_total[1m]))",
	    "sum(rate(node_network_receive_bytes_total[1m]))" },
	/* Patterns RE2 accepts and PCRE2 needs translated or allows too. */
	{ "foo{a=~\"$\?\"}",
	    "foo{a=~\"$\?\"}" },
	{ "foo{a=~\"a\\\\b+\"}",
	    "foo{a=~\"a\\\\b+\"}" },
	{ "foo{a=~\"(\?i)x\"}",
	    "foo{a=~\"(\?i)x\"}" },
	{ "foo{a=~\"(\?P<n>x)\"}",
	    "foo{a=~\"(\?P<n>x)\"}" },
	{ "foo{a=~\"\\\\Qa.b\\\\E\"}",
	    "foo{a=~\"\\\\Qa.b\\\\E\"}" },
	{ "foo{a=~\"[[:alpha:]]+\"}",
	    "foo{a=~\"[[:alpha:]]+\"}" },
	{ "foo{a=~\"\\\\x41\\\\x{263a}\"}",
	    "foo{a=~\"\\\\x41\\\\x{263a}\"}" },
	{ "foo{a=~\"x{1000}\"}",
	    "foo{a=~\"x{1000}\"}" },
};

/*
 * Queries Prometheus 2.42 refuses, the byte offset of the error and the
 * error its query API answers (after "invalid parameter \"query\": ").
 */
static const struct bad_case {
	const char	*query;
	int		 pos;
	const char	*error;
} bad_cases[] = {
	{ "# only comment", 0,
	    "1:1: parse error: no expression found in input" },
	{ "1 +", 3,
	    "1:4: parse error: unexpected end of input" },
	{ "x + ", 4,
	    "1:5: parse error: unexpected end of input" },
	{ "sum(1 +)", 7,
	    "1:8: parse error: unexpected \")\" in aggregation" },
	{ "sum(x) foo", 7,
	    "1:8: parse error: unexpected identifier \"foo\"" },
	{ "sum(x) by", 9,
	    "1:10: parse error: unexpected end of input in grouping opts, expected \"(\"" },
	{ "sum by", 6,
	    "1:7: parse error: unexpected end of input in grouping opts, expected \"(\"" },
	{ "sum by (", 8,
	    "1:9: parse error: unclosed left parenthesis" },
	{ "sum by (a b) (x)", 10,
	    "1:11: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" or \")\"" },
	{ "sum by (a,,b) (x)", 10,
	    "1:11: parse error: unexpected \",\" in grouping opts, expected label" },
	{ "sum by (without) (x)", 8,
	    "1:9: parse error: unexpected <without> in grouping opts, expected label" },
	{ "sum by (a:b) (x)", 8,
	    "1:9: parse error: unexpected metric identifier \"a:b\" in grouping opts, expected label" },
	{ "sum by (inf) (x)", 8,
	    "1:9: parse error: unexpected number \"inf\" in grouping opts, expected label" },
	{ "sum by (\"a\") (x)", 8,
	    "1:9: parse error: unexpected string \"\\\"a\\\"\" in grouping opts, expected label" },
	{ "sum foo", 4,
	    "1:5: parse error: unexpected identifier \"foo\"" },
	{ "sum()", 0,
	    "1:1: parse error: no arguments for aggregate expression provided" },
	{ "topk(x)", 0,
	    "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1" },
	{ "topk(1, 2, x)", 0,
	    "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 3" },
	{ "count_values(1, x)", 13,
	    "1:14: parse error: expected type string in aggregation parameter, got scalar" },
	{ "topk(\"a\", x)", 5,
	    "1:6: parse error: expected type scalar in aggregation parameter, got string" },
	{ "quantile(x, y)", 9,
	    "1:10: parse error: expected type scalar in aggregation parameter, got instant vector" },
	{ "sum(1)", 4,
	    "1:5: parse error: expected type instant vector in aggregation expression, got scalar" },
	{ "topk(1, x[5m])", 8,
	    "1:9: parse error: expected type instant vector in aggregation expression, got range vector" },
	{ "sum(rate(x[5m]))) ", 17,
	    "1:18: parse error: unexpected right parenthesis ')'" },
	{ "rate(x[5m]", 10,
	    "1:11: parse error: unclosed left parenthesis" },
	{ "rate(x)", 5,
	    "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector" },
	{ "rate(x[5m], 1)", 0,
	    "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2" },
	{ "foo(x)", 0,
	    "1:1: parse error: unknown function with name \"foo\"" },
	{ "foo{", 4,
	    "1:5: parse error: unexpected end of input inside braces" },
	{ "foo{a", 5,
	    "1:6: parse error: unexpected end of input inside braces" },
	{ "foo{a=\"b\" c=\"d\"}", 10,
	    "1:11: parse error: unexpected identifier \"c\" in label matching, expected \",\" or \"}\"" },
	{ "foo{a=b}", 6,
	    "1:7: parse error: unexpected identifier \"b\" in label matching, expected string" },
	{ "foo{a}", 5,
	    "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator" },
	{ "foo{a b}", 6,
	    "1:7: parse error: unexpected identifier \"b\" in label matching, expected label matching operator" },
	{ "foo{a=\"b\"}}", 10,
	    "1:11: parse error: unexpected character: '}'" },
	{ "foo{=}", 4,
	    "1:5: parse error: unexpected \"=\" in label matching, expected identifier or \"}\"" },
	{ "foo{a~\"b\"}", 5,
	    "1:6: parse error: unexpected character inside braces: '~'" },
	{ "foo{a=~\"b\",,}", 11,
	    "1:12: parse error: unexpected \",\" in label matching, expected identifier or \"}\"" },
	{ "foo{a=~=~\"b\"}", 7,
	    "1:8: parse error: unexpected <op:=~> in label matching, expected string" },
	{ "foo{{", 4,
	    "1:5: parse error: unexpected left brace '{'" },
	{ "foo}", 3,
	    "1:4: parse error: unexpected character: '}'" },
	{ "{}", 0,
	    "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "{a=\"\"}", 0,
	    "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "{a=~\".*\"}", 0,
	    "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "{a!~\"x\"}", 0,
	    "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "{__name__=\"\"}", 0,
	    "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "foo{__name__=\"bar\"}", 0,
	    "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\"" },
	{ "foo[5]", 4,
	    "1:5: parse error: missing unit character in duration" },
	{ "foo[5x]", 4,
	    "1:5: parse error: bad duration syntax: \"5\"" },
	{ "foo[x]", 4,
	    "1:5: parse error: bad duration syntax: \"\"" },
	{ "foo[]", 4,
	    "1:5: parse error: missing unit character in duration" },
	{ "foo[5m", 6,
	    "1:7: parse error: unclosed left bracket" },
	{ "foo[5m:1]", 7,
	    "1:8: parse error: unexpected number \"1\" in subquery selector, expected duration or \"]\"" },
	{ "foo[5m:1m:2m]", 9,
	    "1:10: parse error: unexpected colon ':'" },
	{ "foo[5m:x]", 7,
	    "1:8: parse error: unexpected colon 'x'" },
	{ "foo[5m 1m]", 7,
	    "1:8: parse error: unexpected duration \"1m\" in subquery or range, expected \":\" or \"]\"" },
	{ "foo[5m:5m 1m]", 10,
	    "1:11: parse error: unexpected duration \"1m\" in subquery selector, expected \"]\"" },
	{ "foo[5m1h]", 4,
	    "1:5: parse error: not a valid duration string: \"5m1h\"" },
	{ "foo[1hs]", 4,
	    "1:5: parse error: not a valid duration string: \"1hs\"" },
	{ "foo[5m]]", 7,
	    "1:8: parse error: unexpected right bracket ']'" },
	{ "foo]", 3,
	    "1:4: parse error: unexpected right bracket ']'" },
	{ "foo[5m][5m]", 7,
	    "1:8: parse error: ranges only allowed for vector selectors" },
	{ "foo[5m][5m:]", 0,
	    "1:1: parse error: subquery is only allowed on instant vector, got matrix instead" },
	{ "(foo)[5m]", 5,
	    "1:6: parse error: ranges only allowed for vector selectors" },
	{ "foo offset 5m[5m]", 13,
	    "1:14: parse error: no offset modifiers allowed before range" },
	{ "foo @ 5 [5m]", 8,
	    "1:9: parse error: no @ modifiers allowed before range" },
	{ "foo offset", 10,
	    "1:11: parse error: unexpected end of input in offset, expected duration" },
	{ "foo offset 5", 11,
	    "1:12: parse error: unexpected number \"5\" in offset, expected duration" },
	{ "foo offset 5m offset 5m", 0,
	    "1:1: parse error: offset may not be set multiple times" },
	{ "foo offset 0s", 11,
	    "1:12: parse error: duration must be greater than 0" },
	{ "foo[5m:0s]", 7,
	    "1:8: parse error: duration must be greater than 0" },
	{ "foo offset 300y", 11,
	    "1:12: parse error: duration out of range" },
	{ "x[9223372036855ms]", 2,
	    "1:3: parse error: duration out of range" },
	{ "foo offset 5M", 11,
	    "1:12: parse error: bad number or duration syntax: \"5\"" },
	{ "foo offset 1y1y", 11,
	    "1:12: parse error: bad number or duration syntax: \"1y1\"" },
	{ "sum(x) offset 5m", 0,
	    "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery" },
	{ "foo @", 5,
	    "1:6: parse error: unexpected end of input in @, expected timestamp" },
	{ "foo @ x", 6,
	    "1:7: parse error: unexpected identifier \"x\" in @, expected timestamp" },
	{ "foo @ +x", 7,
	    "1:8: parse error: unexpected identifier \"x\" in @, expected timestamp" },
	{ "foo @ start", 11,
	    "1:12: parse error: unexpected end of input in @, expected timestamp" },
	{ "foo @ start(1)", 12,
	    "1:13: parse error: unexpected number \"1\" in @, expected timestamp" },
	{ "foo @ 5 @ 6", 0,
	    "1:1: parse error: @ <timestamp> may not be set multiple times" },
	{ "sum(x) @ 5", 0,
	    "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery" },
	{ "foo @ Inf", 0,
	    "1:1: parse error: timestamp out of bounds for @ modifier: +Inf" },
	{ "foo @ NaN", 0,
	    "1:1: parse error: timestamp out of bounds for @ modifier: NaN" },
	{ "foo @ 1e", 6,
	    "1:7: parse error: error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax" },
	{ "1 == 1", 2,
	    "1:3: parse error: comparisons between scalars must use BOOL modifier" },
	{ "1 and 1", 0,
	    "1:1: parse error: set operator \"and\" not allowed in binary scalar expression" },
	{ "x or 1", 0,
	    "1:1: parse error: set operator \"or\" not allowed in binary scalar expression" },
	{ "1 + bool 2", 2,
	    "1:3: parse error: bool modifier can only be used on comparison operators" },
	{ "x and bool y", 2,
	    "1:3: parse error: bool modifier can only be used on comparison operators" },
	{ "x and on(a) group_left y", 0,
	    "1:1: parse error: no grouping allowed for \"and\" operation" },
	{ "x * on(a) group_left(a) y", 2,
	    "1:3: parse error: label \"a\" must not occur in ON and GROUP clause at once" },
	{ "1 + on(a) 2", 0,
	    "1:1: parse error: vector matching only allowed between instant vectors" },
	{ "x == on(a) bool y", 11,
	    "1:12: parse error: unexpected <bool>" },
	{ "x + group_left y", 4,
	    "1:5: parse error: unexpected <group_left>" },
	{ "x + on y", 7,
	    "1:8: parse error: unexpected identifier \"y\" in grouping opts, expected \"(\"" },
	{ "x + on(a) group_left", 20,
	    "1:21: parse error: unexpected end of input in grouping opts, expected \"(\"" },
	{ "(x + on(a) group_left)", 21,
	    "1:22: parse error: unexpected \")\" in grouping opts, expected \"(\"" },
	{ "x * on(a) group_left (y)", 24,
	    "1:25: parse error: unexpected end of input" },
	{ "-x[5m]", 0,
	    "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\"" },
	{ "-\"a\"", 0,
	    "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\"" },
	{ "\"a\" + 1", 0,
	    "1:1: parse error: binary expression must contain only scalar and instant vector types" },
	{ "abs(x[5m] + 1)", 4,
	    "1:5: parse error: binary expression must contain only scalar and instant vector types" },
	{ "'unterminated", 0,
	    "1:1: parse error: unterminated quoted string" },
	{ "\"bad\\q\"", 0,
	    "1:1: parse error: unknown escape sequence U+0071 'q'" },
	{ "\"bad\\", 0,
	    "1:1: parse error: escape sequence not terminated" },
	{ "`raw", 0,
	    "1:1: parse error: unterminated raw string" },
	{ "\"\\ud800\"", 0,
	    "1:1: parse error: escape sequence is an invalid Unicode code point" },
	{ "\"\\400\"", 0,
	    "1:1: parse error: escape sequence is an invalid Unicode code point" },
	{ "\"\\xg\"", 0,
	    "1:1: parse error: illegal character U+0067 'g' in escape sequence" },
	{ "\"\\u12\"", 0,
	    "1:1: parse error: illegal character U+0022 '\"' in escape sequence" },
	{ "'\\\"'", 0,
	    "1:1: parse error: unknown escape sequence U+0022 '\"'" },
	{ "\"ok\" \"ok\"", 5,
	    "1:6: parse error: unexpected string \"\\\"ok\\\"\"" },
	{ "1 \"a long string here\"", 2,
	    "1:3: parse error: unexpected string \"\\\"a long st\"..." },
	{ "1 12345678901234", 2,
	    "1:3: parse error: unexpected number \"1234567890\"..." },
	{ "1 1h30m15s100ms", 2,
	    "1:3: parse error: unexpected duration \"1h30m15s10\"..." },
	{ "foo bar", 4,
	    "1:5: parse error: unexpected identifier \"bar\"" },
	{ "foo !", 4,
	    "1:5: parse error: unexpected character after '!': '\357\277\275'" },
	{ "foo !~ \"a\"", 4,
	    "1:5: parse error: unexpected character after '!': '~'" },
	{ "foo = 1", 4,
	    "1:5: parse error: unexpected \"=\"" },
	{ "$", 0,
	    "1:1: parse error: unexpected character: '$'" },
	{ "ab\342\202\254", 2,
	    "1:3: parse error: unexpected character: '\342\202\254'" },
	{ "1e", 0,
	    "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax" },
	{ "0x", 0,
	    "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0x\": invalid syntax" },
	{ "1e400", 0,
	    "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e400\": value out of range" },
	{ "0xffffffffffffffffff", 0,
	    "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0xffffffffffffffffff\": invalid syntax" },
	{ "1_000", 0,
	    "1:1: parse error: bad number or duration syntax: \"1\"" },
	{ "5m", 0,
	    "1:1: parse error: unexpected duration \"5m\"" },
	{ "1.5m", 0,
	    "1:1: parse error: unexpected duration \"1.5m\"" },
	{ "(", 1,
	    "1:2: parse error: unclosed left parenthesis" },
	{ ")", 1,
	    "1:2: parse error: unexpected right parenthesis ')'" },
	{ "()", 1,
	    "1:2: parse error: unexpected \")\"" },
	{ "[5m]", 0,
	    "1:1: parse error: unexpected \"[\"" },
	{ ", ", 0,
	    "1:1: parse error: unexpected \",\"" },
	{ "sum(x,)", 5,
	    "1:6: parse error: trailing commas not allowed in function call args" },
	{ "rate(x,,y)", 6,
	    "1:7: parse error: trailing commas not allowed in function call args" },
	{ "sum(x, @)", 5,
	    "1:6: parse error: trailing commas not allowed in function call args" },
	{ "label_join(x)", 0,
	    "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 1" },
	{ "round(x,1,2)", 0,
	    "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3" },
	{ "day_of_month(x, y)", 0,
	    "1:1: parse error: expected at most 1 argument(s) in call to \"day_of_month\", got 2" },
	{ "vector(\"a\")", 7,
	    "1:8: parse error: expected type scalar in call to function \"vector\", got string" },
	{ "scalar(1)", 7,
	    "1:8: parse error: expected type instant vector in call to function \"scalar\", got scalar" },
	{ "time(1)", 0,
	    "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1" },
	{ "mad_over_time(x[5m])", 0,
	    "1:1: parse error: unknown function with name \"mad_over_time\"" },
	{ "@", 0,
	    "1:1: parse error: unexpected \"<Item 57385>\" <op:@>" },
	{ "foo @ @", 6,
	    "1:7: parse error: unexpected \"<Item 57385>\" <op:@> in @, expected timestamp" },
	{ "on", 0,
	    "1:1: parse error: unexpected <on>" },
	{ "x BOOL", 2,
	    "1:3: parse error: unexpected <BOOL>" },
	{ "by (a)", 3,
	    "1:4: parse error: unexpected \"(\"" },
	{ "a:b(x)", 3,
	    "1:4: parse error: unexpected \"(\"" },
	{ "sum by (a) (x) by (b)", 15,
	    "1:16: parse error: unexpected <by>" },
	{ "sum by (a) without (b) (x)", 11,
	    "1:12: parse error: unexpected <without> in aggregation" },
	{ "sum by (a) x", 11,
	    "1:12: parse error: unexpected identifier \"x\" in aggregation" },
	{ "sum(x y)", 6,
	    "1:7: parse error: unexpected identifier \"y\" in aggregation" },
	{ "rate(,)", 5,
	    "1:6: parse error: unexpected \",\"" },
	{ "foo{a=~\"(\"}", 4,
	    "1:5: parse error: error parsing regexp: missing closing ): `^(\?:()$`" },
	{ "foo{a=~\"[z-a]\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid character class range: `z-a`" },
	{ "foo{a=~\"a{2,1}\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid repeat count: `{2,1}`" },
	{ "foo{a=~\"x++\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid nested repetition operator: `++`" },
	{ "foo{a=~\"(\?<n>x)\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(\?<`" },
	{ "foo{a=~\"*x\"}", 4,
	    "1:5: parse error: error parsing regexp: missing argument to repetition operator: `*`" },
	{ "foo{a=~\"\\\\q\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid escape sequence: `\\q`" },
	{ "foo{a=~\"x{1001}\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid repeat count: `{1001}`" },
	{ "1 +\n  2 +", 9,
	    "2:6: parse error: unexpected end of input" },
	{ "foo{\n a=\"b\" c}", 12,
	    "2:8: parse error: unexpected identifier \"c\" in label matching, expected \",\" or \"}\"" },
	{ "# c\n)", 5,
	    "2:2: parse error: unexpected right parenthesis ')'" },
	{ "sum(x)\n\n by \n", 13,
	    "4:1: parse error: unexpected end of input in grouping opts, expected \"(\"" },
	{ "x\015+\015y#\0151", 7,
	    "1:8: parse error: unexpected number \"1\"" },
	{ "\"\\\n\"", 0,
	    "1:1: parse error: unknown escape sequence U+000A" },
	{ "\014", 0,
	    "1:1: parse error: unexpected character: '\\f'" },
	{ "\302\240", 0,
	    "1:1: parse error: unexpected character: '\\u00a0'" },
	{ "1\n+\n+", 5,
	    "3:2: parse error: unexpected end of input" },
	/* Patterns RE2 refuses (PCRE2 alone would accept some). */
	{ "foo{a=~\"(\?x)\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(\?x`" },
	{ "foo{a=~\"(\?i-)\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(\?i-)`" },
	{ "foo{a=~\"(\?P<n\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid named capture: `(\?P<n)$`" },
	{ "foo{a=~\"(\?P=n)\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(\?P`" },
	{ "foo{a=~\"\\\\pX\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid character class range: `\\pX`" },
	{ "foo{a=~\"\\\\p{Foo}\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid character class range: `\\p{Foo}`" },
	{ "foo{a=~\"[[:foo:]]\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid character class range: `[:foo:]`" },
	{ "foo{a=~\"\\\\xZ\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid escape sequence: `\\xZ)`" },
	{ "foo{a=~\"\\\\x{110000}\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid escape sequence: `\\x{110000`" },
	{ "foo{a=~\"\\\\8\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid escape sequence: `\\8`" },
	{ "foo{a=~\"a)(b\"}", 4,
	    "1:5: parse error: error parsing regexp: unexpected ): `a)(b`" },
	{ "foo{a=~\"(\?=x)\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(\?=`" },
	{ "foo{a=~\"\\\\E\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid escape sequence: `\\E`" },
	{ "foo{a=~\"x{1001}\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid repeat count: `{1001}`" },
	{ "foo{a=~\"a*\?+\"}", 4,
	    "1:5: parse error: error parsing regexp: invalid nested repetition operator: `*\?+`" },
	/* Bytes that are not UTF-8 (sent to Prometheus URL-encoded). */
	{ "\"\377\"", 0, "1:1: parse error: invalid UTF-8 rune" },
	{ "`\377`", 0, "1:1: parse error: invalid UTF-8 rune" },
	{ "\"\357\277\275\"", 0, "1:1: parse error: invalid UTF-8 rune" },
	{ "foo{\377}", 4,
	    "1:5: parse error: unexpected character inside braces: '\357\277\275'" },
	{ "\377", 0,
	    "1:1: parse error: unexpected character: '\357\277\275'" },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static char *
format(const struct q_expr *e)
{
	struct buf	b = BUF_INIT;

	q_expr_format(e, &b);
	return buf_detach(&b);
}

static struct q_expr *
parse_ok(const char *q)
{
	struct q_error	 err;
	struct q_expr	*e = q_parse(q, &err);

	ck_assert_msg(e != NULL, "%s: %s", q, err.msg);
	return e;
}

START_TEST(test_good)
{
	const struct good_case	*c = &good_cases[_i];
	struct q_expr		*e, *again;
	char			*s, *s2;

	e = parse_ok(c->query);
	s = format(e);
	ck_assert_str_eq(s, c->canonical);
	/* The canonical text parses back to a tree that prints the same. */
	again = parse_ok(s);
	s2 = format(again);
	ck_assert_str_eq(s2, c->canonical);
	free(s);
	free(s2);
	q_expr_free(e);
	q_expr_free(again);
}
END_TEST

START_TEST(test_bad)
{
	const struct bad_case	*c = &bad_cases[_i];
	struct q_error		 err;
	struct buf		 b = BUF_INIT;

	ck_assert_ptr_null(q_parse(c->query, &err));
	ck_assert_int_eq(err.pos, c->pos);
	ck_assert_str_eq(err.msg, strstr(c->error, "parse error: ") + 13);
	q_error_format(&err, c->query, strlen(c->query), &b);
	ck_assert_str_eq(b.data, c->error);
	buf_free(&b);
}
END_TEST

/*
 * Two ways Prometheus's printing does not read back as the same tree, kept
 * because monitord prints what Prometheus prints: +Inf before ^ and U+FFFD
 * in a string (printed raw, then refused as "invalid UTF-8 rune").
 */
START_TEST(test_print_quirks)
{
	struct q_error	 err;
	struct q_expr	*e = parse_ok("inf ^ 2"), *again;
	char		*s, *s2;

	s = format(e);
	ck_assert_str_eq(s, "+Inf ^ 2");
	again = parse_ok(s);
	s2 = format(again);
	ck_assert_str_eq(s2, "++Inf ^ 2");
	free(s);
	free(s2);
	q_expr_free(e);
	q_expr_free(again);

	e = parse_ok("\"\\ufffd\"");
	s = format(e);
	ck_assert_str_eq(s, "\"\357\277\275\"");
	ck_assert_ptr_null(q_parse(s, &err));
	ck_assert_str_eq(err.msg, "invalid UTF-8 rune");
	free(s);
	q_expr_free(e);
}
END_TEST

START_TEST(test_nul_bytes)
{
	static const struct {
		const char	*q;
		size_t		 len;
		int		 pos;
		const char	*msg;
	} cases[] = {
		{ "\0", 1, 0, "unexpected character: '\\x00'" },
		{ "foo\0", 4, 3, "unexpected character: '\\x00'" },
		{ "foo{a=\"b\"\0}", 11, 9,
		    "unexpected character inside braces: '\\x00'" },
	};
	struct q_error	 err;
	struct q_expr	*e;
	char		*s;
	size_t		 i;

	for (i = 0; i < NELEM(cases); i++) {
		ck_assert_ptr_null(q_parse_n(cases[i].q, cases[i].len, &err));
		ck_assert_int_eq(err.pos, cases[i].pos);
		ck_assert_str_eq(err.msg, cases[i].msg);
	}
	/* Inside a string a NUL is data, printed as Go prints it. */
	e = q_parse_n("\"a\0b\"", 5, &err);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->kind, Q_STRING);
	ck_assert_uint_eq(e->string.len, 3);
	ck_assert_int_eq(memcmp(e->string.s, "a\0b", 3), 0);
	s = format(e);
	ck_assert_str_eq(s, "\"a\\x00b\"");
	free(s);
	q_expr_free(e);
}
END_TEST

START_TEST(test_tree_selector)
{
	struct q_expr			*e = parse_ok(
	    "foo{a=\"b\", c=~\"d.*\"} offset 1h30m @ 1.5");
	const struct q_vector_selector	*vs = &e->vs;

	ck_assert_int_eq(e->kind, Q_VECTOR_SELECTOR);
	ck_assert_int_eq(q_expr_type(e), Q_TYPE_VECTOR);
	ck_assert_str_eq(vs->name, "foo");
	ck_assert_uint_eq(vs->nmatchers, 3);
	ck_assert_str_eq(vs->matchers[0].name, "a");
	ck_assert_int_eq(vs->matchers[0].type, Q_MATCH_EQUAL);
	ck_assert_str_eq(vs->matchers[0].value, "b");
	ck_assert_str_eq(vs->matchers[1].name, "c");
	ck_assert_int_eq(vs->matchers[1].type, Q_MATCH_REGEX);
	ck_assert_str_eq(vs->matchers[1].value, "d.*");
	/* The metric name is the last matcher. */
	ck_assert_str_eq(vs->matchers[2].name, "__name__");
	ck_assert_str_eq(vs->matchers[2].value, "foo");
	ck_assert_int_eq(vs->offset, 5400000);
	ck_assert_int_eq(vs->at.kind, Q_AT_TIME);
	ck_assert_int_eq(vs->at.ms, 1500);
	ck_assert_int_eq(e->pos, 0);
	q_expr_free(e);

	e = parse_ok("{__name__=~\"a.+\"} offset -5m @ end()");
	ck_assert_ptr_null(e->vs.name);
	ck_assert_uint_eq(e->vs.nmatchers, 1);
	ck_assert_int_eq(e->vs.offset, -300000);
	ck_assert_int_eq(e->vs.at.kind, Q_AT_END);
	q_expr_free(e);
}
END_TEST

START_TEST(test_tree_ranges)
{
	struct q_expr	*e = parse_ok("rate(x[5m] offset 1w)[1h:30s] @ start()");
	struct q_expr	*call, *m;

	ck_assert_int_eq(e->kind, Q_SUBQUERY);
	ck_assert_int_eq(q_expr_type(e), Q_TYPE_MATRIX);
	ck_assert_int_eq(e->subquery.range, 3600000);
	ck_assert_int_eq(e->subquery.step, 30000);
	ck_assert_int_eq(e->subquery.offset, 0);
	ck_assert_int_eq(e->subquery.at.kind, Q_AT_START);
	call = e->subquery.expr;
	ck_assert_int_eq(call->kind, Q_CALL);
	ck_assert_str_eq(call->call.func->name, "rate");
	ck_assert_uint_eq(call->call.nargs, 1);
	m = call->call.args[0];
	ck_assert_int_eq(m->kind, Q_MATRIX_SELECTOR);
	ck_assert_int_eq(m->matrix.range, 300000);
	/* The offset of a range selector lives in its vector selector. */
	ck_assert_int_eq(m->matrix.vs->vs.offset, 604800000);
	ck_assert_int_eq(m->pos, 5);
	q_expr_free(e);

	e = parse_ok("x[5m:]");
	ck_assert_int_eq(e->subquery.step, 0);
	q_expr_free(e);
}
END_TEST

START_TEST(test_tree_binary)
{
	struct q_expr	*e;

	/* A scalar side drops the vector matching, as in Prometheus. */
	e = parse_ok("x + 1");
	ck_assert_int_eq(e->kind, Q_BINARY);
	ck_assert_int_eq(e->binary.op, Q_OP_ADD);
	ck_assert_ptr_null(e->binary.matching);
	ck_assert_int_eq(q_expr_type(e), Q_TYPE_VECTOR);
	q_expr_free(e);

	e = parse_ok("1 + 2 * 3");
	ck_assert_int_eq(q_expr_type(e), Q_TYPE_SCALAR);
	ck_assert_int_eq(e->binary.rhs->kind, Q_BINARY);
	ck_assert_int_eq(e->binary.rhs->binary.op, Q_OP_MUL);
	q_expr_free(e);

	e = parse_ok("a and b");
	ck_assert_ptr_nonnull(e->binary.matching);
	ck_assert_int_eq(e->binary.matching->card, Q_CARD_MANY_TO_MANY);
	q_expr_free(e);

	e = parse_ok("a > bool on (x, y) group_left (z) b");
	ck_assert_int_eq(e->binary.op, Q_OP_GTR);
	ck_assert_int_eq(e->binary.return_bool, 1);
	ck_assert_int_eq(e->binary.matching->card, Q_CARD_MANY_TO_ONE);
	ck_assert_int_eq(e->binary.matching->on, 1);
	ck_assert_uint_eq(e->binary.matching->labels.n, 2);
	ck_assert_str_eq(e->binary.matching->labels.names[1], "y");
	ck_assert_uint_eq(e->binary.matching->include.n, 1);
	ck_assert_str_eq(e->binary.matching->include.names[0], "z");
	q_expr_free(e);

	/* ^ is right-associative, - left-associative. */
	e = parse_ok("2 ^ 3 ^ 2");
	ck_assert_int_eq(e->binary.rhs->kind, Q_BINARY);
	q_expr_free(e);
	e = parse_ok("a - b - c");
	ck_assert_int_eq(e->binary.lhs->kind, Q_BINARY);
	q_expr_free(e);

	/* -a ^ b is -(a ^ b); -a * b is (-a) * b. */
	e = parse_ok("-a ^ b");
	ck_assert_int_eq(e->kind, Q_UNARY);
	ck_assert_int_eq(e->unary.negate, 1);
	ck_assert_int_eq(e->unary.expr->kind, Q_BINARY);
	q_expr_free(e);
	e = parse_ok("-a * b");
	ck_assert_int_eq(e->kind, Q_BINARY);
	ck_assert_int_eq(e->binary.lhs->kind, Q_UNARY);
	q_expr_free(e);
}
END_TEST

START_TEST(test_tree_numbers)
{
	static const struct {
		const char	*q;
		double		 v;
	} cases[] = {
		{ "-1", -1 }, { "0x1f", 31 }, { "010", 8 }, { "09", 9 },
		{ "1e-3", 0.001 }, { ".5", 0.5 }, { "- - 2", 2 },
		{ "1e-400", 0 },
	};
	struct q_expr	*e;
	size_t		 i;

	for (i = 0; i < NELEM(cases); i++) {
		e = parse_ok(cases[i].q);
		ck_assert_int_eq(e->kind, Q_NUMBER);
		ck_assert_double_eq(e->number, cases[i].v);
		ck_assert_int_eq(e->pos, 0);
		q_expr_free(e);
	}
	e = parse_ok("NaN");
	ck_assert(isnan(e->number));
	q_expr_free(e);
	e = parse_ok("-Inf");
	ck_assert(isinf(e->number) && e->number < 0);
	q_expr_free(e);
	/* A parenthesised number stays under a unary minus. */
	e = parse_ok("-(1)");
	ck_assert_int_eq(e->kind, Q_UNARY);
	ck_assert_int_eq(e->unary.expr->kind, Q_PAREN);
	q_expr_free(e);
}
END_TEST

START_TEST(test_tree_aggregate)
{
	struct q_expr	*e = parse_ok("topk without (a, b) (5, rate(x[1m]))");

	ck_assert_int_eq(e->kind, Q_AGGREGATE);
	ck_assert_int_eq(e->aggregate.op, Q_AGG_TOPK);
	ck_assert_int_eq(e->aggregate.without, 1);
	ck_assert_uint_eq(e->aggregate.grouping.n, 2);
	ck_assert_str_eq(e->aggregate.grouping.names[0], "a");
	ck_assert_int_eq(e->aggregate.param->kind, Q_NUMBER);
	ck_assert_double_eq(e->aggregate.param->number, 5);
	ck_assert_int_eq(e->aggregate.expr->kind, Q_CALL);
	q_expr_free(e);

	e = parse_ok("count_values(\"v\", x) by (job)");
	ck_assert_int_eq(e->aggregate.op, Q_AGG_COUNT_VALUES);
	ck_assert_int_eq(e->aggregate.without, 0);
	ck_assert_str_eq(e->aggregate.grouping.names[0], "job");
	ck_assert_str_eq(e->aggregate.param->string.s, "v");
	q_expr_free(e);

	e = parse_ok("label_replace(up, \"dst\", \"$1\", \"src\", \"(.*)\")");
	ck_assert_uint_eq(e->call.nargs, 5);
	ck_assert_str_eq(e->call.args[4]->string.s, "(.*)");
	q_expr_free(e);
}
END_TEST

static char *
repeat(const char *pre, int n, const char *mid, const char *post)
{
	struct buf	b = BUF_INIT;
	int		i;

	for (i = 0; i < n; i++)
		buf_adds(&b, pre);
	buf_adds(&b, mid);
	for (i = 0; i < n; i++)
		buf_adds(&b, post);
	return buf_detach(&b);
}

START_TEST(test_limits)
{
	struct q_error	 err;
	struct q_expr	*e;
	char		*q;
	struct buf	 b = BUF_INIT;
	int		 i;
	size_t		 w;
	int32_t		 r;

	/* Parentheses, unary signs and operator chains up to the limit. */
	q = repeat("(", Q_MAX_DEPTH - 1, "1", ")");
	e = q_parse(q, &err);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->height, Q_MAX_DEPTH);
	q_expr_free(e);
	free(q);
	q = repeat("(", Q_MAX_DEPTH, "1", ")");
	ck_assert_ptr_null(q_parse(q, &err));
	ck_assert_str_eq(err.msg, "query too deeply nested");
	ck_assert_int_eq(err.pos, Q_MAX_DEPTH);
	free(q);

	q = repeat("-", Q_MAX_DEPTH, "x", "");
	ck_assert_ptr_null(q_parse(q, &err));
	ck_assert_str_eq(err.msg, "query too deeply nested");
	free(q);
	q = repeat("-", Q_MAX_DEPTH - 1, "x", "");
	e = q_parse(q, &err);
	ck_assert_ptr_nonnull(e);
	q_expr_free(e);
	free(q);

	/* A long chain is a tall tree even though parsing it loops. */
	buf_adds(&b, "x");
	for (i = 0; i < Q_MAX_DEPTH; i++)
		buf_adds(&b, " + x");
	ck_assert_ptr_null(q_parse(b.data, &err));
	ck_assert_str_eq(err.msg, "query too deeply nested");
	ck_assert_int_eq(err.pos, (int)b.len - 3);
	buf_free(&b);

	q = repeat("2 ^ ", Q_MAX_DEPTH, "2", "");
	ck_assert_ptr_null(q_parse(q, &err));
	ck_assert_str_eq(err.msg, "query too deeply nested");
	free(q);

	/* Length: the limit itself is fine, one byte more is not. */
	q = malloc(Q_MAX_QUERY_LEN + 2);
	memset(q, 'a', Q_MAX_QUERY_LEN + 1);
	q[Q_MAX_QUERY_LEN] = '\0';
	e = q_parse(q, &err);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(strlen(e->vs.name), Q_MAX_QUERY_LEN);
	q_expr_free(e);
	q[Q_MAX_QUERY_LEN] = 'a';
	q[Q_MAX_QUERY_LEN + 1] = '\0';
	ck_assert_ptr_null(q_parse(q, &err));
	ck_assert_str_eq(err.msg,
	    "query too long: 65537 bytes, the limit is 65536");
	ck_assert_int_eq(err.pos, 0);
	free(q);

	/* Long messages are cut to fit, never in the middle of a rune. */
	q = repeat("é", 300, "(", ")");
	ck_assert_ptr_null(q_parse(q, &err));
	ck_assert_str_eq(err.msg, "unexpected character: 'é'");
	free(q);
	buf_adds(&b, "foo{a=~\"(");
	for (i = 0; i < 200; i++)
		buf_adds(&b, "é");
	buf_adds(&b, "\"}");
	ck_assert_ptr_null(q_parse(b.data, &err));
	ck_assert_uint_lt(strlen(err.msg), sizeof(err.msg));
	ck_assert_int_eq(strncmp(err.msg,
	    "error parsing regexp: missing closing ): `^(?:(éé", 50), 0);
	for (i = 0; err.msg[i] != '\0'; i += (int)w) {
		w = q_utf8_decode(err.msg + i, strlen(err.msg + i), &r);
		ck_assert_int_ne(r, Q_RUNE_ERROR);
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_error_format)
{
	struct q_error	 err;
	struct buf	 b = BUF_INIT;
	const char	*q = "sum(x)\n\n by \n";

	ck_assert_ptr_null(q_parse(q, &err));
	q_error_format(&err, q, strlen(q), &b);
	ck_assert_str_eq(b.data, "4:1: parse error: unexpected end of input "
	    "in grouping opts, expected \"(\"");
	buf_reset(&b);
	ck_assert_ptr_null(q_parse("", &err));
	q_error_format(&err, "", 0, &b);
	ck_assert_str_eq(b.data,
	    "1:1: parse error: no expression found in input");
	buf_free(&b);
	q_expr_free(NULL);
}
END_TEST

START_TEST(test_regex)
{
	struct buf	 err = BUF_INIT;
	struct q_regex	*rx;

	rx = q_regex_new("a|b.", 4, &err);
	ck_assert_ptr_nonnull(rx);
	ck_assert_int_eq(q_regex_match(rx, "a", 1), 1);
	ck_assert_int_eq(q_regex_match(rx, "bz", 2), 1);
	/* Anchored at both ends; $ is the very end, not before a newline. */
	ck_assert_int_eq(q_regex_match(rx, "ab", 2), 0);
	ck_assert_int_eq(q_regex_match(rx, "a\n", 2), 0);
	ck_assert_int_eq(q_regex_match(rx, "b\n", 2), 0);
	ck_assert_int_eq(q_regex_match(rx, "", 0), 0);
	q_regex_free(rx);

	/* A repeated empty-width assertion works as in RE2. */
	rx = q_regex_new("x$?", 3, &err);
	ck_assert_ptr_nonnull(rx);
	ck_assert_int_eq(q_regex_match(rx, "x", 1), 1);
	q_regex_free(rx);

	ck_assert_ptr_null(q_regex_new("(", 1, &err));
	ck_assert_str_eq(err.data,
	    "error parsing regexp: missing closing ): `^(?:()$`");
	buf_free(&err);
	q_regex_free(NULL);
}
END_TEST

START_TEST(test_format_float)
{
	static const struct {
		double		 v;
		const char	*s;
	} cases[] = {
		/* What Go's fmt prints for %v. */
		{ 0, "0" }, { -0.0, "-0" }, { 1, "1" }, { -2.5, "-2.5" },
		{ 100000, "100000" }, { 1e6, "1e+06" }, { 1234567, "1.234567e+06" },
		{ 123456.789, "123456.789" }, { 0.0001, "0.0001" },
		{ 0.00001, "1e-05" }, { 0.1, "0.1" }, { 1.0 / 3, "0.3333333333333333" },
		{ 1e21, "1e+21" }, { 1.5e-7, "1.5e-07" }, { 5e-324, "5e-324" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 9007199254740993.0, "9.007199254740992e+15" },
		{ INFINITY, "+Inf" }, { -INFINITY, "-Inf" }, { NAN, "NaN" },
	};
	struct buf	b = BUF_INIT;
	size_t		i;

	for (i = 0; i < NELEM(cases); i++) {
		buf_reset(&b);
		q_format_float(&b, cases[i].v);
		ck_assert_str_eq(b.data, cases[i].s);
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_format_duration)
{
	static const struct {
		int64_t		 ms;
		const char	*s;
	} cases[] = {
		{ 0, "0s" }, { 1, "1ms" }, { 1500, "1s500ms" },
		{ 5400000, "1h30m" }, { 14LL * 86400000, "2w" },
		{ 90LL * 86400000, "90d" }, { 365LL * 86400000, "1y" },
		{ 366LL * 86400000, "366d" }, { 730LL * 86400000, "2y" },
		{ 8LL * 86400000 + 1, "8d1ms" },
	};
	struct buf	b = BUF_INIT;
	size_t		i;

	for (i = 0; i < NELEM(cases); i++) {
		buf_reset(&b);
		q_format_duration(&b, cases[i].ms);
		ck_assert_str_eq(b.data, cases[i].s);
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_quote)
{
	static const char	s[] = "a\"b\\c\n\x01\x7f\xff\xc3\xa9\xe2\x80\x8b"
	    "\xf0\x9f\x98\x80";
	struct buf		b = BUF_INIT;

	q_quote(&b, s, sizeof(s) - 1);
	ck_assert_str_eq(b.data,
	    "\"a\\\"b\\\\c\\n\\x01\\x7f\\xff\xc3\xa9\\u200b\xf0\x9f\x98\x80\"");
	buf_reset(&b);
	q_quote_trunc(&b, "\"a long string\"", 15, 10);
	ck_assert_str_eq(b.data, "\"\\\"a long st\"");
	buf_reset(&b);
	q_quote_rune(&b, '\'');
	q_quote_rune(&b, '"');
	q_quote_rune(&b, Q_RUNE_EOF);
	q_quote_rune(&b, 0);
	ck_assert_str_eq(b.data, "'\\'''\"''\xef\xbf\xbd''\\x00'");
	buf_reset(&b);
	q_format_unicode(&b, 'q');
	buf_addc(&b, ' ');
	q_format_unicode(&b, '\n');
	buf_addc(&b, ' ');
	q_format_unicode(&b, 0x1F600);
	ck_assert_str_eq(b.data, "U+0071 'q' U+000A U+1F600 '\xf0\x9f\x98\x80'");
	buf_free(&b);
}
END_TEST

START_TEST(test_functions)
{
	const struct q_function	*t, *f;
	size_t			 n, i;

	t = q_function_table(&n);
	ck_assert_uint_eq(n, 70);
	for (i = 1; i < n; i++)
		ck_assert_int_lt(strcmp(t[i - 1].name, t[i].name), 0);
	for (i = 0; i < n; i++) {
		f = q_function_lookup(t[i].name, strlen(t[i].name));
		ck_assert_ptr_eq(f, &t[i]);
	}
	f = q_function_lookup("label_join", 10);
	ck_assert_int_eq(f->variadic, -1);
	ck_assert_int_eq(f->args[3], Q_TYPE_STRING);
	f = q_function_lookup("time", 4);
	ck_assert_int_eq(f->ret, Q_TYPE_SCALAR);
	ck_assert_ptr_null(q_function_lookup("rat", 3));
	ck_assert_ptr_null(q_function_lookup("rates", 5));
	ck_assert_ptr_null(q_function_lookup("sort_by_label", 13));
	ck_assert_str_eq(q_type_documented(Q_TYPE_MATRIX), "range vector");
}
END_TEST

static Suite *
promql_suite(void)
{
	Suite	*s = suite_create("promql");
	TCase	*tc = tcase_create("promql");

	tcase_add_loop_test(tc, test_good, 0, (int)NELEM(good_cases));
	tcase_add_loop_test(tc, test_bad, 0, (int)NELEM(bad_cases));
	tcase_add_test(tc, test_print_quirks);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_tree_selector);
	tcase_add_test(tc, test_tree_ranges);
	tcase_add_test(tc, test_tree_binary);
	tcase_add_test(tc, test_tree_numbers);
	tcase_add_test(tc, test_tree_aggregate);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_error_format);
	tcase_add_test(tc, test_regex);
	tcase_add_test(tc, test_format_float);
	tcase_add_test(tc, test_format_duration);
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_functions);
	suite_add_tcase(s, tc);
	return s;
}

TCHECK_MAIN(promql_suite)
