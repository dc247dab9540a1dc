# wasserstein.gp: a WGAN's Wasserstein estimate over training (chapter 4:
# loss.dat's W_estimate column, -L_C = mean C(x) - mean C(G(z))).
#
#   gnuplot -e "datafile='runs/chapter4/loss.dat'; outfile='runs/chapter4/wasserstein.png'" plots/wasserstein.gp
#
# Finds the column named W_estimate in the "# step ..." header. Each row is
# one critic batch, so the curve is noisy: the raw values are drawn thin, and
# a centred moving median over 2k+1 logged rows (k = 10 unless set with
# -e "k=N"; a median, so that one wild batch does not bend it) thick. Log
# scale: the estimate spans orders of magnitude (values
# <= 0, a critic behind G, are left out of the log plot and counted in the title).
if (!exists("datafile")) datafile = "loss.dat"
if (!exists("outfile")) outfile = datafile . ".png"
if (!exists("k")) k = 10

header = system(sprintf("head -n 1 '%s'", datafile))
col = 0
do for [i = 2:words(header)] { if (word(header, i) eq "W_estimate") { col = i - 1 } }
if (col == 0) {
    print sprintf("wasserstein.gp: %s has no W_estimate column in its '# step ...' header", datafile)
    exit status 1
}
# the moving median, computed by awk into a temporary file next to the output
avgfile = outfile . ".avg.tmp"
system(sprintf("awk -v c=%d -v k=%d '!/^#/ { s[n] = $1; v[n++] = $c } END { for (i = 0; i < n; i++) { m = 0; for (j = i - k; j <= i + k; j++) if (j >= 0 && j < n) w[m++] = v[j]; for (a = 1; a < m; a++) { x = w[a]; for (b = a - 1; b >= 0 && w[b] > x; b--) w[b + 1] = w[b]; w[b + 1] = x } print s[i], (m - 2 * int(m / 2)) ? w[int(m / 2)] : (w[m / 2 - 1] + w[m / 2]) / 2 } }' '%s' > '%s'", col, k, datafile, avgfile))
nonpos = system(sprintf("awk -v c=%d '!/^#/ && $c <= 0 { n++ } END { print n + 0 }' '%s'", col, datafile))
positive = system(sprintf("awk -v c=%d '!/^#/ && $c > 0 { n++ } END { print n + 0 }' '%s'", col, datafile))

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 900, 600 noenhanced font ",10"
} else {
    set terminal png size 900, 600
}
set termoption noenhanced
set output outfile
set format y "%g"
set grid
set key top right
set xlabel "generator step"
if (int(positive) > 0) {
    set logscale y
    set ylabel "W estimate: mean C(x) - mean C(G(z)) (log scale)"
    set title sprintf("%s: the critic's Wasserstein estimate (rows <= 0, not drawn: %s)", datafile, nonpos)
    plot datafile using 1:(column(col) > 0 ? column(col) : NaN) with lines lw 0.8 lc rgb "#b0b0d0" title "W_estimate (each logged step)", \
         avgfile using 1:($2 > 0 ? $2 : NaN) with lines lw 2.5 lc rgb "#2040a0" title sprintf("moving median over %d rows", 2 * k + 1)
} else {
    set ylabel "W estimate: mean C(x) - mean C(G(z))"
    set title sprintf("%s: the critic's Wasserstein estimate (no positive row)", datafile)
    plot datafile using 1:col with lines lw 0.8 lc rgb "#b0b0d0" title "W_estimate (each logged step)", \
         avgfile using 1:2 with lines lw 2.5 lc rgb "#2040a0" title sprintf("moving median over %d rows", 2 * k + 1)
}
set output
system(sprintf("rm -f '%s'", avgfile))
