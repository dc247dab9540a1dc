# gradnorm_hist.gp: the histogram of per-sample gradient norms
# ||grad_x C(x_hat)|| of a WGAN-GP critic at the interpolates x_hat (chapter
# 5's gradnorm_hist.png). The penalty (||g|| - 1)^2 pulls them to 1.
#
#   gnuplot -e "datafile='runs/chapter5/gradnorm_hist.dat'; outfile='runs/chapter5/gradnorm_hist.png'" \
#           plots/gradnorm_hist.gp
#
# datafile: one norm per line (a "#" header line is skipped). Bins of 0.02.
if (!exists("datafile")) datafile = "gradnorm_hist.dat"
if (!exists("outfile")) outfile = datafile . ".png"

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 800, 500 noenhanced font ",10"
} else {
    set terminal png size 800, 500
}
set termoption noenhanced
set output outfile
stats datafile using 1 nooutput
width = 0.02
bin(x) = width * floor(x / width) + width / 2
set xrange [0:(STATS_max > 2 ? STATS_max * 1.05 : 2)]
set style fill solid 0.6 border -1
set boxwidth width
set grid
set arrow from first 1, graph 0 to first 1, graph 1 nohead front dt 2 lw 2 lc rgb "#d62728"
set xlabel "||grad_x C(x_hat)|| per sample"
set ylabel "samples"
set title sprintf("%d interpolates: mean %.3f, median %.3f", STATS_records, STATS_mean, STATS_median)
plot datafile using (bin($1)):(1.0) smooth frequency with boxes lc rgb "#1f77b4" notitle
set output
