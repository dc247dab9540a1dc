# sigma.gp: the largest singular value of each of the discriminator's layers
# over training (chapter 7's sigma.dat), on a log scale.
#
#   gnuplot -e "datafile='runs/chapter7/sigma.dat'; outfile='runs/chapter7/sigma.png'" plots/sigma.gp
#   gnuplot -e "datafile='...'; outfile='...'; title='without spectral norm'; ymin=0.1; ymax=30" plots/sigma.gp
#
# sigma.dat: a header "# step sigma1 sigma2 ...", one column per layer: the
# largest singular value of the weight as D uses it (W / sigma(W) with
# spectral norm, W without), the weight reshaped to (out channels,
# in channels * kh * kw) as spectral norm treats it. One curve per column,
# whatever their number; a dashed line at 1, where spectral norm holds each
# layer. The y range always spans at least [0.5, 2] so that a run held at 1
# does not have its last-digit wobble blown up to fill the picture; ymin and
# ymax set it (two pictures meant to be compared share one).
if (!exists("datafile")) datafile = "sigma.dat"
if (!exists("outfile")) outfile = datafile . ".png"
if (!exists("title")) title = datafile

header = system(sprintf("head -n 1 '%s'", datafile))
if (words(header) < 3 || word(header, 1) ne "#" || word(header, 3) ne "sigma1") {
    print sprintf("sigma.gp: %s has no '# step sigma1 ...' header line", datafile)
    exit status 1
}
ncol = words(header) - 2
if (!exists("ymin")) {
    ymin = real(system(sprintf("awk '!/^#/ { for (i = 2; i <= NF; i++) if ($i > 0 && (!seen++ || $i < m)) m = $i } END { print m + 0 }' '%s'", datafile)))
    ymin = (ymin > 0 && ymin < 0.5) ? ymin / 1.2 : 0.5
}
if (!exists("ymax")) {
    ymax = real(system(sprintf("awk '!/^#/ { for (i = 2; i <= NF; i++) if (!seen++ || $i > m) m = $i } END { print m + 0 }' '%s'", datafile)))
    ymax = ymax > 2 ? ymax * 1.2 : 2
}

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 700, 450 noenhanced font ",10"
} else {
    set terminal png size 700, 450
}
set termoption noenhanced
set output outfile
set grid
set logscale y
set format y "%g"
set ytics (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
set yrange [ymin:ymax]
set xlabel "step"
set ylabel "largest singular value (log scale)"
set title title
set key outside right top
plot for [c = 2:ncol + 1] datafile using 1:c with lines lw 2 title sprintf("layer %d", c - 1), \
     1 with lines dashtype 2 lc "gray" title "1"
set output
