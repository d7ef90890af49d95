# the same by the relay's name with a final dot; --json
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --json --received-from-trusted MAIL.example.com. @CASES@/relayed.eml
