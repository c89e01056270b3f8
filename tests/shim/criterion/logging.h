/* See criterion.h in this directory: the TSan stand-in for Criterion. */
#include "criterion/criterion.h"
