/*
 * dynlib: a library loaded with dlopen() and a table of its functions,
 * for the libraries monitord uses only when its configuration asks for
 * them (libpq, librabbitmq): not linked, they cost no memory otherwise.
 *
 * A caller describes its table as an array of struct dynlib_sym (a name
 * and the offset of the function pointer member that receives it) and
 * gets every member filled, or nothing: a library that lacks one function
 * is refused as a whole, so a caller never meets a NULL member.
 *
 * Errors read "SONAME could not be loaded: WHY", WHY being the dynamic
 * loader's own message (no such file, wrong ELF class, undefined symbol).
 * Threading: any thread (dlerror() is per thread in glibc and musl).
 */
#ifndef MONITORD_DYNLIB_H
#define MONITORD_DYNLIB_H

#include <stddef.h>

struct dynlib_sym {
	const char	*name;
	size_t		 offset;	/* of a function pointer in the table */
};

/*
 * dlopen() SONAME and fill the NSYMS function pointers of TABLE.  Returns
 * the handle (for dynlib_close), or NULL with a message in ERR and TABLE
 * untouched.
 */
void	*dynlib_open(const char *soname, const struct dynlib_sym *syms,
	    size_t nsyms, void *table, char *err, size_t errlen);
/* dlclose() HANDLE; NULL is a no-op. */
void	 dynlib_close(void *handle);

#endif
