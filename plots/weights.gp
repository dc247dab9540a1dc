# weights.gp: the histogram of a WGAN critic's weights over training
# (chapter 4: weight clipping piles them up at +-c).
#
#   gnuplot -e "datafile='runs/chapter4/weights.dat'; outfile='runs/chapter4/weights.png'" plots/weights.gp
#
# weights.dat: a header "# step weight fraction", then one block of rows per
# snapshot, all with the same step: the bin's centre and the share of the
# critic's values in that bin. Up to 6 snapshots, spread over the run (the
# first and the last included; -e "curves=N" for another number), are drawn
# as one curve each, on a log scale:
# the end bins (at +-c) hold most of the weights, the middle ones a few percent.
if (!exists("datafile")) datafile = "weights.dat"
if (!exists("outfile")) outfile = datafile . ".png"

header = system(sprintf("head -n 1 '%s'", datafile))
if (words(header) != 4 || word(header, 1) ne "#") {
    print sprintf("weights.gp: %s has no '# step weight fraction' header line", datafile)
    exit status 1
}
all = system(sprintf("awk '!/^#/ && !seen[$1]++ { print $1 }' '%s'", datafile))
n = words(all)
if (n == 0) {
    print sprintf("weights.gp: %s has no rows", datafile)
    exit status 1
}
if (!exists("curves")) curves = 6
k = (n < curves) ? n : curves
pick(i) = word(all, (k == 1) ? n : 1 + int(floor((i - 1) * (n - 1) / (k - 1.0) + 0.5)))

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 900, 600 noenhanced font ",10"
} else {
    set terminal png size 900, 600
}
set termoption noenhanced
set output outfile
set logscale y
set format y "%g"
set grid
set key top center
set xlabel "critic weight value"
set ylabel "fraction of the critic's weights (log scale)"
set title datafile . ": histogram of the critic's weights, by training step"
plot for [i = 1:k] datafile using 2:(strcol(1) eq pick(i) && $3 > 0 ? $3 : NaN) \
     with linespoints lw 1.5 pt 7 ps 0.5 title "step " . pick(i)
set output
