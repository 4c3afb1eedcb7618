#ifndef CMPI_H
#define CMPI_H
#include <mpi.h>

/// Open MPI defines its handles as casts of global symbols, which Swift cannot import;
/// each function here returns one of them.
MPI_Comm CMPI_commWorld(void);
MPI_Datatype CMPI_float(void);
MPI_Op CMPI_sum(void);

#endif
