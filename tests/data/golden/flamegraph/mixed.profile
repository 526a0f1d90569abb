lockprof-profile 1
m lockprof_version 0.1.0
m pid 4242
m ppid 1
m exe /opt/app/bin/server
m cmdline /opt/app/bin/server --golden
m reason exit
m start_unix_ns 1700000000000000000
m duration_ns 1000000000
m sample_every 1
m min_wait_ns 0
m threads 9
m python 3.13.0
m python_build free-threaded
m python_module /usr/bin/python3.13
s 0 /opt/app/bin/server
s 1 /usr/lib/x86_64-linux-gnu/libc.so.6
s 2 /usr/bin/python3.13
s 3 clone3
s 4 start_thread
s 5 worker
s 6 critical_work
s 7 pthread_mutex_lock
s 8 hot_lock
s 9 _PyEval_EvalFrameDefault
s 10 PyMutex_Lock
s 11 /srv/app/cache.py
s 12 store
s 13 lookup
s 14 main
s 15 /srv/app/main.py
s 16 dict@0x7f0000001000
s 17 dict
s 18 dict@0x7f0000002000
s 19 threading.Lock created at app.py:12 (<module>)
s 20 GIL
s 21 crunch
s 22 not_empty
s 23 consume
s 24 odd;name\nwith newline
s 25 producer
s 26 <module>
s 27 Thread.run
s 28 /usr/lib/python3.13/threading.py
s 29 update
s 30 cache-0
f 0 n 3 - 0 1 1098ec
f 1 n 4 - 0 1 891f5
f 2 n 5 - 0 0 11dc
f 3 n 6 - 0 0 1199
f 4 n 6 - 0 0 11c1
f 5 n 7 - 0 1 9a0e0
f 6 n 9 - 0 2 1f0000
f 7 n 10 - 0 2 2a1991
f 8 p 14 15 40 - 0
f 9 p 27 28 994 - 0
f 10 p 12 11 14 - 0
f 11 p 13 11 18 - 0
f 12 p 21 15 0 - 0
f 13 p 29 15 25 - 0
f 14 n - - 0 0 1234
f 15 n 23 - 0 0 1300
f 16 n 25 - 0 0 1400
f 17 n 24 - 0 0 1500
f 18 p 26 15 50 - 0
k 0 3 2 1 0
k 1 5 4 2 1 0
k 2 7 6 10 6 9 1 0
k 3 7 10 9 1 0
k 4 7 6 11 6 9 1 0
k 5 13 9 1 0
k 6 12 8 18
k 7 15 1 0
k 8 16 1 0
k 9 17 14 2 1 0
k 10
l 0 pthread_mutex 55eb659d2060 8 -
l 1 pymutex 7f0000001000 16 17
l 2 pymutex 7f0000002000 18 17
l 3 threading.Lock 7f0000003000 19 -
l 4 gil 7f0000004000 20 -
l 5 pthread_cond 7f0000005000 22 -
t 101 -
t 102 -
t 103 -
t 104 -
t 105 -
t 106 -
t 107 -
t 201 30
t 202 -
a 0 0 0 101 102 0 3 3000000 1500000 20:3
a 0 0 1 102 101 0 2 1000400 600000 19:2
a 0 1 0 103 101 0 1 250000 250000 17:1
a 0 9 1 104 103 40 1 800000 800000 19:1
a 0 10 - 103 0 0 1 300 300 8:1
a 0 - 0 104 101 0 1 700000 700000 19:1
a 1 2 4 201 202 8 5 2000000 900000 18:5
a 2 3 2 202 201 8 4 1200000 700000 18:4
a 1 4 2 201 202 0 2 600000 400000 18:2
a 1 2 2 201 201 1 7 70000 20000 13:7
a 3 5 5 301 302 0 3 4500000 2000000 21:3
a 3 5 - 303 0 10 2 9000000 8000000 22:2
a 4 6 - 105 106 0 1 400 400 8:1
a 4 6 - 106 105 0 1 400 400 8:1
a 4 6 6 107 105 0 2 5000000 3000000 21:2
a 5 7 8 401 402 0 4 8000000 4000000 22:4
end 106
