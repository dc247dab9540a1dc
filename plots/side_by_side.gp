# side_by_side.gp: two PNG pictures (sample grids) side by side, each with a
# title, in one PNG (chapter 7: the raw G's grid beside the EMA G's grid).
#
#   gnuplot -e "file1='runs/chapter7/samples_raw.png'; title1='raw G'; \
#               file2='runs/chapter7/samples_ema.png'; title2='EMA of G'; outfile='ema_vs_raw.png'" plots/side_by_side.gp
#
# Optional: title (above both), width (of the whole picture in pixels, 1000;
# each grid is scaled to fit half of it). gnuplot reads the PNGs itself
# (binary filetype=png, through libgd), so no image tool is needed.
if (!exists("file1") || !exists("file2") || !exists("outfile")) {
    print "side_by_side.gp: set file1, file2 and outfile (and title1, title2)"
    exit status 1
}
if (!exists("title1")) title1 = file1
if (!exists("title2")) title2 = file2
if (!exists("width")) width = 1000
height = int(width * 0.55) + (exists("title") ? 30 : 0)

# The gd png terminal, not pngcairo: it writes a 256-colour palette, which
# holds gray pictures exactly and makes the file a third of pngcairo's RGB.
set terminal png size width, height font ",11"
set termoption noenhanced
set output outfile
unset border
unset tics
unset key
set size ratio -1
set margins 1, 1, 1, 3
if (exists("title")) { set multiplot layout 1, 2 title title } else { set multiplot layout 1, 2 }
set title title1
plot file1 binary filetype=png with rgbimage
set title title2
plot file2 binary filetype=png with rgbimage
unset multiplot
set output
