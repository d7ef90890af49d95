# no Received field by the trusted relay: --ip and --helo are the fallback
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --received-from-trusted mx.other.example --ip 127.0.0.1 --helo h.example @CASES@/relayed.eml
