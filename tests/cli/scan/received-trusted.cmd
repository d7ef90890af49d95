# the envelope from the Received field mail.example.com added, MAIL FROM from Return-Path, the recipient from To
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --received-from-trusted mail.example.com @CASES@/relayed.eml
