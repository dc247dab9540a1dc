# wfid.gp: does a WGAN's Wasserstein estimate track sample quality?
# (chapter 4 on MNIST / Fashion-MNIST: wfid.dat)
#
#   gnuplot -e "datafile='runs/ch4-mnist/wfid.dat'; outfile='runs/ch4-mnist/wfid.png'" plots/wfid.gp
#
# wfid.dat: a header "# step W_critic fid" (or "# step W_critic" when the
# evaluation classifier was missing), then rows: the critic's estimate
# mean C(x) - mean C(G(z)) on fixed sets of 1,000 real and 1,000 generated
# images, and the FID of those 1,000 samples. W on the left axis, FID on the
# right (log scale): if W tracks quality, both curves fall together.
if (!exists("datafile")) datafile = "wfid.dat"
if (!exists("outfile")) outfile = datafile . ".png"

header = system(sprintf("head -n 1 '%s'", datafile))
if (words(header) < 3 || word(header, 1) ne "#") {
    print sprintf("wfid.gp: %s has no '# step W_critic ...' header line", datafile)
    exit status 1
}

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 900, 600 noenhanced font ",10"
} else {
    set terminal png size 900, 600
}
set termoption noenhanced
set output outfile
set grid
set key top right
set xlabel "generator step"
set ylabel "W estimate: mean C(x) - mean C(G(z))"
set title datafile
if (words(header) >= 4) {
    set y2label "FID of 1,000 samples (log scale)"
    set logscale y2
    set y2tics
    set ytics nomirror
    plot datafile using 1:2 with linespoints lw 1.5 pt 7 ps 0.6 title "W estimate (left)", \
         datafile using 1:3 axes x1y2 with linespoints lw 1.5 pt 5 ps 0.6 title "FID (right)"
} else {
    plot datafile using 1:2 with linespoints lw 1.5 pt 7 ps 0.6 title "W estimate"
}
set output
