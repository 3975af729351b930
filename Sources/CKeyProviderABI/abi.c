/* Compile-time checks that pin the ABI layout: a change here breaks every
 * provider built against an older header, so it must come with a new
 * ATREST_KP_ABI_VERSION. */
#include "atrest_key_provider.h"

_Static_assert(sizeof(atrest_kp_key_info) == ATREST_KP_KEY_ID_MAX + 6 * 4 + 5 * 8, "key_info layout changed");
_Static_assert(ATREST_KP_ABI_VERSION == 1, "update the layout checks for a new ABI version");
