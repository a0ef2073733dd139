/* Startup contract: the vector table every program of this port starts with. */
#ifndef STARTUP_H
#define STARTUP_H

/* 16 system exceptions + IRQ 0..96 (sheet §1.3). */
#define STARTUP_VECTOR_COUNT 113

/* One word of the table: the initial stack pointer or a handler. */
union vector_entry {
    const void *sp;
    void (*handler)(void);
};

/* The program's own table, placed first in its flash region (section .isr_vector). */
extern const union vector_entry vector_table[STARTUP_VECTOR_COUNT];

#endif /* STARTUP_H */
