print("blkif-xenstored")
