/*
 * pq_dl: libpq, loaded with dlopen() when a [postgres] section needs it.
 *
 * monitord is not linked with libpq.  Linked, libpq maps some twenty more
 * libraries at every start (Kerberos, LDAP, GnuTLS, p11-kit and their
 * kin), which cost about 3 MB of resident memory in a daemon that watches
 * no PostgreSQL server at all.  So the collector asks for the library by
 * its SONAME (LIBPQ_SONAME, found by configure) when it is built from a
 * section, and calls it through the table of function pointers below.
 *
 * Contract:
 *  - pq_dl_new() loads the library and resolves every function of the
 *    table, or returns NULL with "libpq.so.5 could not be loaded: WHY" in
 *    ERR (WHY is the dynamic loader's message).  Each struct pq_dl holds
 *    its own reference to the library; the dynamic loader counts them, so
 *    the library stays mapped while any holder lives, and one built before
 *    the previous holder is freed (a reload) reuses the same mapping.
 *  - pq_dl_free() drops the reference; pointers obtained from the library
 *    (connections, results) must be released through the table before it.
 *    NULL is a no-op.
 *  - Threading: any thread; a struct pq_dl is read-only once made.
 *
 * The members have the types of libpq's own declarations (__typeof__ of
 * <libpq-fe.h>'s functions), so a prototype cannot drift from the header
 * the collector is compiled against.  Only files of collectors/postgres
 * (and their tests) include this header.
 */
#ifndef MONITORD_PQ_DL_H
#define MONITORD_PQ_DL_H

#include <stddef.h>

#include <libpq-fe.h>

/* Every libpq function the collector calls; keep it sorted. */
#define PQ_DL_FUNCTIONS(F)		\
	F(PQclear)			\
	F(PQconnectPoll)		\
	F(PQconnectStartParams)		\
	F(PQconninfoFree)		\
	F(PQconninfoParse)		\
	F(PQconsumeInput)		\
	F(PQerrorMessage)		\
	F(PQfinish)			\
	F(PQflush)			\
	F(PQfreemem)			\
	F(PQgetResult)			\
	F(PQgetisnull)			\
	F(PQgetvalue)			\
	F(PQisBusy)			\
	F(PQmakeEmptyPGresult)		\
	F(PQnfields)			\
	F(PQnotifies)			\
	F(PQntuples)			\
	F(PQresStatus)			\
	F(PQresultErrorMessage)		\
	F(PQresultStatus)		\
	F(PQsendQuery)			\
	F(PQserverVersion)		\
	F(PQsetNoticeProcessor)		\
	F(PQsetResultAttrs)		\
	F(PQsetnonblocking)		\
	F(PQsetvalue)			\
	F(PQsocket)			\
	F(PQstatus)

struct pq_dl {
	void	*handle;
#define PQ_DL_MEMBER(f)	__typeof__(f) *f;
	PQ_DL_FUNCTIONS(PQ_DL_MEMBER)
#undef PQ_DL_MEMBER
};

struct pq_dl	*pq_dl_new(char *err, size_t errlen);
void		 pq_dl_free(struct pq_dl *);

#endif
