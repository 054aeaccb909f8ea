import { Controller, Delete, HttpCode, HttpStatus, Param } from '@nestjs/common';
import { Caller } from '../auth/caller';
import { CurrentUser, RequestId, SelfOrAdmin } from '../auth/decorators';
import { IdParamDto } from '../common/validation/id-param.dto';
import { DeleteSocialAssociationDto } from './dto/delete-social-association.dto';
import { DeleteTarget } from './dto/delete-target.decorator';
import { SocialAssociationService } from './social-association.service';

/** SelfCommunity API v2: the social associations ("providers") of a user. */
@Controller('api/v2/user')
export class UserProviderController {
  constructor(private readonly socialAssociations: SocialAssociationService) {}

  @Delete(':id/provider')
  @SelfOrAdmin()
  @HttpCode(HttpStatus.NO_CONTENT)
  deleteSocialAssociation(
    @Param() { id }: IdParamDto,
    @DeleteTarget() target: DeleteSocialAssociationDto,
    @CurrentUser() caller: Caller,
    @RequestId() requestId: string,
  ): Promise<void> {
    return this.socialAssociations.unlink(caller, id, target, requestId);
  }
}
