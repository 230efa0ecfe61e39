#!/bin/sh
# Regenerate grid_CELLS_PERIPHERY.csv: CACTI 7 (Balasubramonian et al., ACM TACO 14(2), 2017; release 7.0) for the SRAM
# sizes and widths of the energy table under one ITRS 45 nm device pair, with a CACTI 7 binary the user provides:
#   reports/energy/cacti/run.sh /path/to/cacti [CELLS PERIPHERY]     (default: itrs-lstp itrs-hp, the table's pair)
# The table's pair (fixed before any comparison with the paper): ITRS 45 nm LSTP bit cells with HP periphery, the
# lowest-leakage pair whose 128 KB array reads in one 1.25 ns cycle (800 MHz) in CACTI (devices.sh); 300 K; 1 read-write
# port. The other pairs that read within the cycle (itrs-lop itrs-hp, itrs-hp itrs-hp) give the uncertainty band.
# read_bitlines_nJ is CACTI's "Bitlines" part of the read energy (charged at the bit-cell supply; the rest at the
# periphery supply), used to scale each part to the table's one supply voltage.
set -e
CACTI_DIR=$(cd "$(dirname "$1")" && pwd)
CELLS=${2:-itrs-lstp}
PERIPHERY=${3:-itrs-hp}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/grid_${CELLS}_${PERIPHERY}.csv"
TMP=$(mktemp -d)
echo "size_bytes,width_bits,read_nJ,read_bitlines_nJ,write_nJ,leakage_mW,access_ns,cycle_ns,area_mm2" > "$OUT.tmp"
for size in 2048 4096 8192 16384 32768 65536 131072 262144 524288 1048576; do
  for width in 8 16 32 64 128 256 512; do
    "$HERE/sram.cfg.sh" "$size" "$width" "$CELLS" "$PERIPHERY" > "$TMP/sram.cfg"
    (cd "$CACTI_DIR" && ./cacti -infile "$TMP/sram.cfg") > "$TMP/out.txt"
    read_nj=$(grep -m1 'dynamic read energy per access' "$TMP/out.txt" | awk '{print $NF}')
    bitlines_nj=$(grep -m1 'Bitlines (nJ)' "$TMP/out.txt" | awk '{print $NF}')
    write_nj=$(grep -m1 'dynamic write energy per access' "$TMP/out.txt" | awk '{print $NF}')
    leak=$(grep -m1 'Total leakage power of a bank' "$TMP/out.txt" | awk '{print $NF}')
    access=$(grep -m1 'Access time' "$TMP/out.txt" | awk '{print $NF}')
    cycle=$(grep -m1 'Cycle time' "$TMP/out.txt" | awk '{print $NF}')
    area=$(grep -m1 'Data array: Area' "$TMP/out.txt" | awk '{print $NF}')
    echo "$size,$width,$read_nj,$bitlines_nj,$write_nj,$leak,$access,$cycle,$area" >> "$OUT.tmp"
  done
done
mv "$OUT.tmp" "$OUT"
rm -r "$TMP"
echo "wrote $OUT"
