/* What the io layer's readers share: opening a path to read. Private to the io layer. */
#ifndef NB_IO_INTERNAL_H
#define NB_IO_INTERNAL_H

/* Open `path` for reading and return its descriptor, or -1 with a message. Anything but
 * a regular file is refused before a byte is read: a FIFO would block the open or the
 * read, and a device (/dev/zero) never ends, while a file's size bounds what reading it
 * can cost. */
int nb_io_open_regular(const char *path);

#endif
