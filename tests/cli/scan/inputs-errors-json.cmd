# the same with --json and -j 2: an error object per input in order
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 -j 2 --json --ip 127.0.0.1 --helo h.example @CASES@ @CASES@/no-such.eml @DATA@/../../samples/clean.eml
exit 2
