# a recipient outside the accepted domains: 550 5.7.1 Relaying denied, no DATA
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --ip 127.0.0.1 --helo mail.partner.example --mail-from news@partner.example --rcpt someone@elsewhere.example @DATA@/../../samples/clean.eml
