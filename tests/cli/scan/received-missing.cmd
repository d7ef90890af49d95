# no Received field by the trusted relay and no --ip: an input error, exit 2
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --received-from-trusted mx.other.example @CASES@/relayed.eml
exit 2
