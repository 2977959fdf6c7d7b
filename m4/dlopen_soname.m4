# MONITORD_DLOPEN_SONAME(VARIABLE, LIBS, FUNCTION, PREFIX, WHAT, EXAMPLE)
# ----------------------------------------------------------------------
# monitord loads some libraries with dlopen() only when the configuration
# needs them, so it must know the name to ask the dynamic loader for: the
# library's SONAME (libpq.so.5), not the linker's name (-lpq), which only a
# development package installs.  Link a program that calls FUNCTION with
# LIBS and read the SONAME the linker recorded in it (the NEEDED entry that
# starts with PREFIX), then AC_DEFINE VARIABLE as that string.  Setting
# VARIABLE when running configure (e.g. VARIABLE=EXAMPLE) skips the probe.
AC_DEFUN([MONITORD_DLOPEN_SONAME], [dnl
AC_REQUIRE([AC_PROG_CC])dnl
AC_CHECK_TOOL([OBJDUMP], [objdump], [no])
AC_ARG_VAR([$1], [SONAME of ]$5[ that monitord dlopen()s (probed by default)])
AC_CACHE_CHECK([for the SONAME of $5], [monitord_cv_$1], [
  monitord_cv_$1=no
  AS_IF([test -n "$$1"], [monitord_cv_$1=$$1], [
    monitord_save_LIBS=$LIBS
    LIBS="$2 $LIBS"
    AC_LINK_IFELSE([AC_LANG_CALL([], [$3])], [
      AS_IF([test "x$OBJDUMP" != xno], [
        monitord_soname=`$OBJDUMP -p conftest$ac_exeext 2>/dev/null |
          $AWK '$[]1 == "NEEDED" && [index]($[]2, "$4") == 1 { print $[]2; exit }'`
        AS_IF([test -n "$monitord_soname"],
          [monitord_cv_$1=$monitord_soname])])])
    LIBS=$monitord_save_LIBS])])
AS_IF([test "x$monitord_cv_$1" = xno],
  [AC_MSG_ERROR([cannot tell which file to dlopen() for $5: set $1 (e.g. $1=$6)])])
AC_DEFINE_UNQUOTED([$1], ["$monitord_cv_$1"], [SONAME of ]$5[, loaded on demand])
])
