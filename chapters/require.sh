# require.sh: the checks the chapters' scripts make before they start
# (sourced, not run): one error line, one HINT, exit 1.
#
#   require_gnuplot TARGET          gnuplot on PATH; TARGET is the make target to rerun
#   require_program PROG HINT       PROG built (executable); HINT says how to build it

require_gnuplot() {
    if ! command -v gnuplot >/dev/null 2>&1; then
        echo "error: gnuplot is not installed, and the figures are gnuplot plots" >&2
        echo "HINT: apt-get install gnuplot-nox, then make $1 again" >&2
        exit 1
    fi
}

require_program() {
    if [ ! -x "$1" ]; then
        echo "error: $1 is missing" >&2
        echo "HINT: $2" >&2
        exit 1
    fi
}
