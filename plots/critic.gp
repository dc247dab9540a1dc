# critic.gp: a WGAN-GP critic's value C(x) on the plane as a heat map, with
# the real points and the generated ones on top (chapter 5's critic_*.png).
#
#   gnuplot -e "datafile='runs/chapter5/critic_001000.dat'; outfile='runs/chapter5/critic_001000.png'; \
#               extent=1.5; step=1000" plots/critic.gp
#
# datafile holds three blocks separated by two blank lines (gnuplot's
# `index`): 0 the grid rows "x y C" (a blank line after each row of the grid),
# 1 the real points "x y", 2 the generated points "x y". extent fixes the
# axes to [-extent, extent] (ring8 1.5, grid25 6).
if (!exists("datafile")) datafile = "critic.dat"
if (!exists("outfile")) outfile = datafile . ".png"

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 760, 680 noenhanced font ",10"
} else {
    set terminal png size 760, 680
}
set termoption noenhanced
set output outfile
set size ratio -1
if (exists("extent")) { set xrange [-extent:extent]; set yrange [-extent:extent] }
set key top right box opaque fc rgb "#9a9a9a"
set cblabel "critic C(x)"
# blue (low score: where the critic says "generated") to yellow (high: "real")
set palette defined (0 "#30123b", 1 "#2f6bd6", 2 "#28bceb", 3 "#a4fc3c", 4 "#fb8022", 5 "#7a0403")
if (exists("step")) { set title sprintf("critic and samples at step %d", step) } else { set title datafile }
plot datafile index 0 using 1:2:3 with image notitle, \
     datafile index 1 using 1:2 with points pt 7 ps 0.35 lc rgb "#ffffff" title "real", \
     datafile index 2 using 1:2 with points pt 7 ps 0.35 lc rgb "#000000" title "generated"
set output
