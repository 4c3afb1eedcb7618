#ifndef CMPI_H
#define CMPI_H
#include <mpi.h>

/// Open MPI defines its predefined handles as casts of addresses of global symbols, which Swift
/// cannot import; each function here returns one of them so Swift code can pass it to MPI.

// Communicators.
MPI_Comm CMPI_commWorld(void);
MPI_Comm CMPI_commNull(void);

// Datatypes.
MPI_Datatype CMPI_float(void);
MPI_Datatype CMPI_double(void);
MPI_Datatype CMPI_int(void);
MPI_Datatype CMPI_int64(void);
MPI_Datatype CMPI_uint64(void);
MPI_Datatype CMPI_uint16(void);
MPI_Datatype CMPI_byte(void);

// Reduction operations.
MPI_Op CMPI_sum(void);
MPI_Op CMPI_max(void);
MPI_Op CMPI_min(void);

// Sentinels.
void *CMPI_inPlace(void);
MPI_Request CMPI_requestNull(void);
MPI_Status *CMPI_statusIgnore(void);
MPI_Status *CMPI_statusesIgnore(void);
MPI_Errhandler CMPI_errorsReturn(void);
MPI_Errhandler CMPI_errorsAreFatal(void);

// Integer constants (some are macros Swift imports poorly or not at all).
int CMPI_success(void);
int CMPI_maxErrorString(void);
int CMPI_threadSingle(void);
int CMPI_threadFunneled(void);
int CMPI_threadSerialized(void);
int CMPI_threadMultiple(void);

#endif
