# --ip or --received-from-trusted is required
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 @DATA@/../../samples/clean.eml
exit 2
