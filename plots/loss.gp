# loss.gp: plots a run's loss.dat, whatever columns it has.
#
#   gnuplot -e "datafile='runs/chapter1/loss.dat'; outfile='runs/chapter1/loss.png'" plots/loss.gp
#   gnuplot -e "datafile='runs/chapter1/loss.dat'; dumb=1" plots/loss.gp     (ASCII chart)
#
# loss.dat starts with a header "# step name2 name3 ...". Column 1 (the
# step) is the x axis. Columns whose name starts with "D(" (D(x), D(G(z)):
# probabilities) go in a lower panel with the y range [0, 1]; all other
# columns (losses, critic values, ...) in the upper panel. With dumb=1 only
# the upper panel is drawn, as text, on stdout.
if (!exists("datafile")) datafile = "loss.dat"
if (!exists("outfile")) outfile = datafile . ".png"

header = system(sprintf("head -n 1 '%s'", datafile))
if (words(header) < 3 || word(header, 1) ne "#") {
    print sprintf("loss.gp: %s has no '# step name ...' header line", datafile)
    exit status 1
}

# Column c is named by word c + 1 of the header (word 1 is the "#").
upper = ""
lower = ""
do for [i = 3:words(header)] {
    name = word(header, i)
    if (strstrt(name, "D(") == 1) { lower = lower . " " . sprintf("%d", i - 1) } \
    else { upper = upper . " " . sprintf("%d", i - 1) }
}
colname(c) = word(header, int(c) + 1)

set termoption noenhanced
set key top right
set grid
set xlabel "step"

if (exists("dumb")) {
    set terminal dumb size 100, 26
    set termoption noenhanced
    set title "losses (" . datafile . ")"
    unset grid
    if (strlen(upper) > 0) {
        plot for [c in upper] datafile using 1:(column(int(c))) with lines title colname(c)
    }
    exit
}

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1000, 750 noenhanced font ",10"
} else {
    set terminal png size 1000, 750
}
set termoption noenhanced
set output outfile

two = (strlen(upper) > 0 && strlen(lower) > 0)
if (two) { set multiplot layout 2, 1 title datafile }
if (strlen(upper) > 0) {
    set ylabel "loss"
    if (!two) { set title datafile }
    plot for [c in upper] datafile using 1:(column(int(c))) with lines lw 1.5 title colname(c)
}
if (strlen(lower) > 0) {
    unset title
    set ylabel "probability"
    set yrange [0:1]
    plot for [c in lower] datafile using 1:(column(int(c))) with lines lw 1.5 title colname(c), \
         0.5 with lines dashtype 2 lc "gray" title "1/2 (equilibrium)"
}
if (two) { unset multiplot }
set output
