# the client is on the IP block list: refused before the greeting, hcspam SCL 9
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --ip 127.0.0.66 --helo mail.bulk.example --mail-from offers@bulk.example --rcpt bob@example.com @DATA@/../../samples/blocked-ip.eml
