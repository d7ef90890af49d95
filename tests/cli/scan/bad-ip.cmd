# --ip must be an address
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --ip 127.0.0 @DATA@/../../samples/clean.eml
exit 2
