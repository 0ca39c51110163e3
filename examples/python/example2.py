import shmd.multiprocessing as multiprocessing
def sharedM(a):
    for i in range(10):
        a[i] = a[i]*a[i]

arr = multiprocessing.Array('i',range(10))
p= multiprocessing.Process(target= sharedM,args=(arr,))
p.start()
p.join()
print(arr[:])
