# scatter.gp: real vs generated 2-D points (the toy datasets).
#
#   gnuplot -e "fakefile='runs/chapter1/samples.txt'; realfile='runs/chapter1/real.txt'; \
#               outfile='runs/chapter1/scatter.png'; extent=1.5" plots/scatter.gp
#
# Files hold rows "x y". realfile is optional. extent fixes both axes to
# [-extent, extent] (ring8: 1.5, grid25: 6), so pictures of different steps
# compare; without it gnuplot picks the range.
if (!exists("fakefile")) fakefile = "samples.txt"
if (!exists("outfile")) outfile = "scatter.png"

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 700, 700 noenhanced font ",10"
} else {
    set terminal png size 700, 700
}
set output outfile
set size square
set grid
set key top right opaque
if (exists("extent")) { set xrange [-extent:extent]; set yrange [-extent:extent] }
set title fakefile

if (exists("realfile")) {
    plot realfile using 1:2 with points pt 7 ps 0.4 lc rgb "#1f77b4" title "real", \
         fakefile using 1:2 with points pt 7 ps 0.4 lc rgb "#d62728" title "generated"
} else {
    plot fakefile using 1:2 with points pt 7 ps 0.4 lc rgb "#d62728" title "generated"
}
set output
