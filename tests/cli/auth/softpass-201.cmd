# northwind.example: p=none, SPF ?all, but the client's forward-confirmed PTR is in northwind.example: softpass reason=201; read from standard input
smexop auth --ip 203.0.113.7 --helo smtp.out.northwind.example --mail-from nora@northwind.example --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example
stdin @CASES@/northwind.eml
