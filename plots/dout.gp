# dout.gp: the discriminator's output on training, held-out and generated
# images over training (chapter 7's dout.dat), and how well it tells the
# training images from the held-out ones, which is how memorizing the
# training set shows.
#
#   gnuplot -e "datafile='runs/chapter7/dout.dat'; outfile='runs/chapter7/dout.png'" plots/dout.gp
#   gnuplot -e "datafile='A/dout.dat'; title1='no augmentation'; datafile2='B/dout.dat'; title2='DiffAugment'; \
#               outfile='dout.png'" plots/dout.gp          (two runs side by side, same y range)
#
# dout.dat: a header "# step d_train d_heldout d_fake auc", then per logged
# step D's mean raw output (a logit for the BCE loss, a score for the hinge
# loss) on 256 fixed training images, 256 held-out test images and 256
# samples, D in eval mode without augmentation, and auc: the share of
# (training, held-out) pairs D scores training first. Upper panel(s): the
# three means. Lower panel: auc, one curve per file, 0.5 while D cannot tell
# the images it trained on from the others, 1 when it has memorized them
# (a file without the auc column gets d_train - d_heldout there instead).
# The values move a lot from one logged step to the next, so thin lines are
# the logged values and thick ones a centred moving mean over 2k+1 rows
# (k = 5 unless set with -e "k=N").
if (!exists("datafile")) datafile = "dout.dat"
if (!exists("outfile")) outfile = datafile . ".png"
if (!exists("k")) k = 5
two = exists("datafile2")
if (!exists("title1")) title1 = datafile
if (!exists("title2")) title2 = two ? datafile2 : ""

# 2: the header with auc; 1: without (older runs); 0: not a dout.dat
check(f) = (h = system(sprintf("head -n 1 '%s'", f)), h eq "# step d_train d_heldout d_fake auc" ? 2 : h eq "# step d_train d_heldout d_fake" ? 1 : 0)
kind = check(datafile)
if (two) { kind2 = check(datafile2); kind = kind < kind2 ? kind : kind2 }
if (kind == 0) {
    print "dout.gp: a data file has no '# step d_train d_heldout d_fake [auc]' header line"
    exit status 1
}
auc = (kind == 2)
# Centred moving means of the three columns and of the gap, computed by awk
# into temporary files next to the output.
smooth_cmd = "awk -v k=%d 'BEGIN { n = 0 } !/^#/ { s[n] = $1; a[n] = $2; b[n] = $3; c[n] = $4; e[n] = $5; n++ } END { for (i = 0; i < n; i++) { m = 0; sa = sb = sc = sd = 0; for (j = i - k; j <= i + k; j++) if (j >= 0 && j < n) { sa += a[j]; sb += b[j]; sc += c[j]; sd += e[j]; m++ } print s[i], sa / m, sb / m, sc / m, (sa - sb) / m, sd / m } }' '%s' > '%s'"
avg1 = outfile . ".avg1.tmp"
avg2 = outfile . ".avg2.tmp"
system(sprintf(smooth_cmd, k, datafile, avg1))
if (two) { system(sprintf(smooth_cmd, k, datafile2, avg2)) }
# One y range for the upper panels, so the two runs compare by eye.
lo = real(system(sprintf("awk '!/^#/ { for (i = 2; i <= 4; i++) if (!seen++ || $i < m) m = $i } END { print m }' '%s' %s", datafile, two ? "'" . datafile2 . "'" : "")))
hi = real(system(sprintf("awk '!/^#/ { for (i = 2; i <= 4; i++) if (!seen++ || $i > m) m = $i } END { print m }' '%s' %s", datafile, two ? "'" . datafile2 . "'" : "")))
pad = (hi - lo) * 0.05 + 1e-3

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size (two ? 1000 : 700), 700 noenhanced font ",10"
} else {
    set terminal png size (two ? 1000 : 700), 700
}
set termoption noenhanced
set output outfile
set grid
set xlabel "step"
set key top right
set multiplot
top_h = 0.58
set size (two ? 0.5 : 1), top_h
set origin 0, 1 - top_h
set yrange [lo - pad : hi + pad]
set ylabel "mean D output (raw)"
set title title1
plot datafile using 1:2 with lines lw 0.6 lc rgb "#a0b8e0" notitle, \
     datafile using 1:3 with lines lw 0.6 lc rgb "#f0c090" notitle, \
     datafile using 1:4 with lines lw 0.6 lc rgb "#f0a0a0" notitle, \
     avg1 using 1:2 with lines lw 2 lc rgb "#1f4fa0" title "training images", \
     avg1 using 1:3 with lines lw 2 lc rgb "#e07000" title "held-out images", \
     avg1 using 1:4 with lines lw 2 lc rgb "#c01010" title "generated images"
if (two) {
    set origin 0.5, 1 - top_h
    set title title2
    unset ylabel
    plot datafile2 using 1:2 with lines lw 0.6 lc rgb "#a0b8e0" notitle, \
         datafile2 using 1:3 with lines lw 0.6 lc rgb "#f0c090" notitle, \
         datafile2 using 1:4 with lines lw 0.6 lc rgb "#f0a0a0" notitle, \
         avg2 using 1:2 with lines lw 2 lc rgb "#1f4fa0" title "training images", \
         avg2 using 1:3 with lines lw 2 lc rgb "#e07000" title "held-out images", \
         avg2 using 1:4 with lines lw 2 lc rgb "#c01010" title "generated images"
}
set size 1, 1 - top_h
set origin 0, 0
set key top left
if (auc) {
    set yrange [0.3:1]
    set ylabel "P(D(train) > D(held-out))"
    set title sprintf("auc: P(D scores a training image above a held-out one); 0.5: D cannot tell them apart (mean over %d rows)", 2 * k + 1)
    col = 6
} else {
    set autoscale y
    set ylabel "training - held-out"
    set title sprintf("the gap: D on training images minus D on held-out images (moving mean over %d rows)", 2 * k + 1)
    col = 5
}
ref = auc ? 0.5 : 0
if (two) {
    plot datafile using 1:(auc ? $5 : $2 - $3) with lines lw 0.6 lc rgb "#c0c0c0" notitle, \
         datafile2 using 1:(auc ? $5 : $2 - $3) with lines lw 0.6 lc rgb "#a0d0a0" notitle, \
         avg1 using 1:col with lines lw 2 lc rgb "#404040" title title1, \
         avg2 using 1:col with lines lw 2 lc rgb "#108010" title title2, \
         ref with lines dashtype 2 lc "gray" notitle
} else {
    plot datafile using 1:(auc ? $5 : $2 - $3) with lines lw 0.6 lc rgb "#c0c0c0" notitle, \
         avg1 using 1:col with lines lw 2 lc rgb "#404040" title (auc ? "auc" : "training - held-out"), \
         ref with lines dashtype 2 lc "gray" notitle
}
unset multiplot
set output
system(sprintf("rm -f '%s' '%s'", avg1, avg2))
