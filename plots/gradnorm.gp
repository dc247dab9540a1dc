# gradnorm.gp: gradient norms over steps, log scale (chapter 2: the norm of
# G's gradient under the saturating and the non-saturating loss).
#
#   gnuplot -e "datafile='runs/chapter2/gradnorm.dat'; outfile='runs/chapter2/gradnorm.png'" plots/gradnorm.gp
#
# The file starts with "# step name2 name3"; every column after the step is
# one curve, titled by its header name.
if (!exists("datafile")) datafile = "gradnorm.dat"
if (!exists("outfile")) outfile = datafile . ".png"

header = system(sprintf("head -n 1 '%s'", datafile))
if (words(header) < 3 || word(header, 1) ne "#") {
    print sprintf("gradnorm.gp: %s has no '# step name ...' header line", datafile)
    exit status 1
}
n = words(header) - 1   # columns

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 900, 600 noenhanced font ",10"
} else {
    set terminal png size 900, 600
}
set termoption noenhanced
set output outfile
set logscale y
set format y "%.0e"
set grid
set key top right
set xlabel "step"
set ylabel "||grad of G's loss wrt G's parameters||"
set title datafile
plot for [c = 2:n] datafile using 1:(column(c) > 0 ? column(c) : NaN) with lines lw 1.5 title word(header, c + 1)
set output
