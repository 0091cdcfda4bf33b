#!/bin/sh
# Reverses each line of the request body (read from stdin) and prints it as the response.

# The body is expected to be UTF-8 text: a UTF-8 locale makes rev and sed treat a multi-byte
# character as one character instead of reversing its bytes.
LC_ALL=C.UTF-8
export LC_ALL

if command -v rev >/dev/null 2>&1; then
  exec rev
fi

# rev is not always installed (on Debian it lives in bsdextrautils), so fall back to the classic
# sed idiom: append a newline marker, then repeatedly move the first character to just after it.
# (Unlike rev, it ends the last line with a newline even when the body did not.)
exec sed '/\n/!G;s/\(.\)\(.*\n\)/&\2\1/;//D;s/.//'
