#!/bin/sh
# static_link.sh BUILD_DIR CC - link a program that uses the timeouts against
# the static library with nothing but what `pkg-config --static` gives (the
# uninstalled coring.pc of BUILD_DIR), then run it.  What a static user
# needs (libm, pthread, liburing) must be in the .pc file.
set -eu
build=$1
cc=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/prog.c" <<'PROG'
#include <coring.h>

static void *body(void *arg)
{
    cor_timeout_scope s;
    (void)arg;
    if (cor_timeout_begin(&s, 1.0) < 0)
        return (void *)1;
    cor_timeout_end(&s);
    return NULL;
}

int main(void)
{
    void *r = (void *)1;
    return cor_run_ex(body, NULL, NULL, &r) < 0 || r;
}
PROG
export PKG_CONFIG_PATH="$build/meson-uninstalled"
cflags=$(pkg-config --cflags coring)
# -lcoring would pick the shared library: name the archive instead.
libs=$(pkg-config --static --libs coring | sed 's/-lcoring\b/-l:libcoring.a/')
# shellcheck disable=SC2086
"$cc" -O0 -o "$tmp/prog" "$tmp/prog.c" $cflags $libs
"$tmp/prog"
