# -j takes 1-256
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 -j 0 --ip 127.0.0.1 @DATA@/../../samples/clean.eml
exit 2
