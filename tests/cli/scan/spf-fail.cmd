# SPF fails for shop.example, which has no DMARC record: compauth=fail reason=001, spoof to junk
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --ip 127.0.0.44 --helo mail.shop.example --mail-from orders@shop.example --rcpt bob@example.com @DATA@/../../samples/spf-fail.eml
