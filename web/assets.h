/*
 * assets: the dashboard's files compiled into the binary.  web/assets.c is
 * generated from web/ by web/embed.c at build time and shipped in the
 * release tarball, so a build from the tarball needs neither npm nor the
 * generator's inputs to be rebuilt.
 *
 * The table and the version are constant and live as long as the program.
 */
#ifndef MONITORD_WEB_ASSETS_H
#define MONITORD_WEB_ASSETS_H

struct httpd_asset;

/* Every file, NULL-path-ended; "index.html" among them. */
extern const struct httpd_asset web_assets[];
/* A hash of the whole set: the VERSION of /static/VERSION/... URLs. */
extern const char web_assets_version[];

#endif
