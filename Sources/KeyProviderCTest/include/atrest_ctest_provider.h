/* The C test provider: proves the key-provider ABI is usable from C alone.
 * It exports the standard entry point plus one deliberately wrong table for
 * the loader's "wrong ABI version" test. */
#ifndef ATREST_CTEST_PROVIDER_H
#define ATREST_CTEST_PROVIDER_H
#endif
