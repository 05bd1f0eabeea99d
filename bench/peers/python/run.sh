#!/bin/sh
# The three scripts one after another, as the original project ran them: sh run.sh DATA OUT_DIR
set -e
here=$(dirname "$0")
/usr/bin/python3 "$here/train.py" "$1" "$2"
/usr/bin/python3 "$here/quantize.py" "$2"
/usr/bin/python3 "$here/predict.py" "$2"
