#include "CMPI.h"

MPI_Comm CMPI_commWorld(void) { return MPI_COMM_WORLD; }
MPI_Comm CMPI_commNull(void) { return MPI_COMM_NULL; }

MPI_Datatype CMPI_float(void) { return MPI_FLOAT; }
MPI_Datatype CMPI_double(void) { return MPI_DOUBLE; }
MPI_Datatype CMPI_int(void) { return MPI_INT; }
MPI_Datatype CMPI_int64(void) { return MPI_INT64_T; }
MPI_Datatype CMPI_uint64(void) { return MPI_UINT64_T; }
MPI_Datatype CMPI_uint16(void) { return MPI_UINT16_T; }
MPI_Datatype CMPI_byte(void) { return MPI_BYTE; }

MPI_Op CMPI_sum(void) { return MPI_SUM; }
MPI_Op CMPI_max(void) { return MPI_MAX; }
MPI_Op CMPI_min(void) { return MPI_MIN; }

void *CMPI_inPlace(void) { return MPI_IN_PLACE; }
MPI_Request CMPI_requestNull(void) { return MPI_REQUEST_NULL; }
MPI_Status *CMPI_statusIgnore(void) { return MPI_STATUS_IGNORE; }
MPI_Status *CMPI_statusesIgnore(void) { return MPI_STATUSES_IGNORE; }
MPI_Errhandler CMPI_errorsReturn(void) { return MPI_ERRORS_RETURN; }
MPI_Errhandler CMPI_errorsAreFatal(void) { return MPI_ERRORS_ARE_FATAL; }

int CMPI_success(void) { return MPI_SUCCESS; }
int CMPI_maxErrorString(void) { return MPI_MAX_ERROR_STRING; }
int CMPI_threadSingle(void) { return MPI_THREAD_SINGLE; }
int CMPI_threadFunneled(void) { return MPI_THREAD_FUNNELED; }
int CMPI_threadSerialized(void) { return MPI_THREAD_SERIALIZED; }
int CMPI_threadMultiple(void) { return MPI_THREAD_MULTIPLE; }
