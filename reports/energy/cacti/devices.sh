#!/bin/sh
# Regenerate devices.csv: the 128 KB, 64-bit sparse-matrix SRAM under every ITRS 45 nm device pair CACTI 7 offers,
# the evidence for the device choice of run.sh (the lowest-leakage pair whose access fits one 1.25 ns cycle); the pairs
# that fit the cycle span the uncertainty band of the energy page.
# Usage: reports/energy/cacti/devices.sh /path/to/cacti   (CACTI 7: Balasubramonian et al., ACM TACO 14(2), 2017; release 7.0)
set -e
CACTI_DIR=$(cd "$(dirname "$1")" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/devices.csv"
TMP=$(mktemp -d)
echo "cell_type,peripheral_type,read_nJ,read_bitlines_nJ,leakage_mW,access_ns,cycle_ns,fits_one_800MHz_cycle" > "$OUT.tmp"
for periphery in itrs-hp itrs-lop itrs-lstp; do
  for cell in itrs-lstp itrs-lop itrs-hp; do
    "$HERE/sram.cfg.sh" 131072 64 "$cell" "$periphery" > "$TMP/sram.cfg"
    (cd "$CACTI_DIR" && ./cacti -infile "$TMP/sram.cfg") > "$TMP/out.txt"
    read_nj=$(grep -m1 'dynamic read energy per access' "$TMP/out.txt" | awk '{print $NF}')
    bitlines_nj=$(grep -m1 'Bitlines (nJ)' "$TMP/out.txt" | awk '{print $NF}')
    leak=$(grep -m1 'Total leakage power of a bank' "$TMP/out.txt" | awk '{print $NF}')
    access=$(grep -m1 'Access time' "$TMP/out.txt" | awk '{print $NF}')
    cycle=$(grep -m1 'Cycle time' "$TMP/out.txt" | awk '{print $NF}')
    fits=$(awk -v a="$access" 'BEGIN { print (a <= 1.25) ? "yes" : "no" }')
    echo "$cell,$periphery,$read_nj,$bitlines_nj,$leak,$access,$cycle,$fits" >> "$OUT.tmp"
  done
done
mv "$OUT.tmp" "$OUT"
rm -r "$TMP"
echo "wrote $OUT"
